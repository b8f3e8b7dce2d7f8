/**
 * The column sets kubectl users know, one printer per served resource, after
 * kubernetes/kubernetes pkg/printers/internalversion/printers.go. The server
 * always computes every column (kubectl hides priority-1 columns unless
 * `-o wide`), so each printer returns all cells.
 */
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../apps-types.js';
import type { Job, PodDisruptionBudget } from '../batch-policy-types.js';
import type { RoleBinding } from '../rbac.js';
import { labelSelectorFromObject } from '../selectors.js';
import type {
  ConfigMap,
  ContainerStatus,
  Endpoints,
  EndpointSlice,
  Event,
  KubeObject,
  LabelSelectorSpec,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
} from '../types.js';
import { ageSince, humanDuration } from './duration.js';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface TableRowCondition {
  type: 'Completed';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface PrintedRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
}

export interface Printer {
  columns: readonly TableColumnDefinition[];
  row(obj: KubeObject, now: Date): PrintedRow;
}

const col = (
  name: string,
  description: string,
  opts: { type?: TableColumnDefinition['type']; format?: string; wide?: boolean } = {},
): TableColumnDefinition => ({
  name,
  type: opts.type ?? 'string',
  format: opts.format ?? '',
  description,
  priority: opts.wide ? 1 : 0,
});

const NAME = col('Name', 'Name must be unique within a namespace. Cannot be updated.', { format: 'name' });
const AGE = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
const age = (o: KubeObject, now: Date): string => ageSince(o.metadata.creationTimestamp, now);
const name = (o: KubeObject): string => o.metadata.name ?? '';

/** labels.FormatLabels: sorted `k=v,k2=v2`, `<none>` when empty. */
export function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${(m as Record<string, string>)[k]}`).join(',');
}

// ------------------------------------------------------------ pods

const POD_SUCCESS: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
];
const POD_FAILED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
];

interface PodSpecExtras {
  readinessGates?: { conditionType: string }[];
  initContainers?: { name: string; restartPolicy?: string }[];
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * READY, STATUS and RESTARTS as kubectl computes them: init container
 * progress (`Init:1/2`, `Init:CrashLoopBackOff`), a waiting or terminated
 * container's reason (`ContainerCreating`, `CrashLoopBackOff`, `Completed`,
 * `ExitCode:1`), `Terminating` once deletion started, `NotReady`.
 */
export function podStatusCells(pod: Pod, now: Date): { ready: string; status: string; restarts: string } {
  const spec = (pod.spec ?? { containers: [] }) as Omit<NonNullable<Pod['spec']>, 'initContainers'> & PodSpecExtras;
  const status = pod.status ?? {};
  const initSpecs = new Map((spec.initContainers ?? []).map((c) => [c.name, c]));
  const isSidecar = (n: string): boolean => initSpecs.get(n)?.restartPolicy === 'Always';
  let total = (spec.containers ?? []).length + [...initSpecs.values()].filter((c) => c.restartPolicy === 'Always').length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: string | undefined;
  let lastSidecarRestart: string | undefined;
  let reason = status.reason || status.phase || '';

  for (const cond of status.conditions ?? []) {
    if (cond.type === 'PodScheduled' && cond.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initStatuses: ContainerStatus[] = status.initContainerStatuses ?? [];
  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i] as ContainerStatus;
    restarts += c.restartCount ?? 0;
    const finished = c.lastState?.terminated?.finishedAt;
    lastRestart = latest(lastRestart, finished);
    if (isSidecar(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = latest(lastSidecarRestart, finished);
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (isSidecar(c.name) && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (term) {
      reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.size}`;
    }
    initializing = true;
    break;
  }

  const initialized = (status.conditions ?? []).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i] as ContainerStatus;
      restarts += c.restartCount ?? 0;
      lastRestart = latest(lastRestart, c.lastState?.terminated?.finishedAt);
      const waiting = c.state?.waiting;
      const term = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = podReady ? 'Running' : 'NotReady';
    }
  }

  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && !terminal) reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart) restartsCell = `${restarts} (${ageSince(lastRestart, now)} ago)`;
  total = Math.max(total, 0);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsCell };
}

const pods: Printer = {
  columns: [
    NAME,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    col('IP', 'IP address allocated to the pod. Routable at least within the cluster.', { wide: true }),
    col('Node', 'Name of the node this pod runs on.', { wide: true }),
    col('Nominated Node', 'Name of the node where the pod is nominated to run.', { wide: true }),
    col('Readiness Gates', 'The readiness gates of this pod that are true, out of all of them.', { wide: true }),
  ],
  row(obj, now) {
    const pod = obj as Pod;
    const { ready, status, restarts } = podStatusCells(pod, now);
    const st = (pod.status ?? {}) as NonNullable<Pod['status']> & { nominatedNodeName?: string };
    const spec = (pod.spec ?? {}) as Omit<Partial<NonNullable<Pod['spec']>>, 'initContainers'> & PodSpecExtras;
    const gates = spec.readinessGates ?? [];
    let gateCell = '<none>';
    if (gates.length > 0) {
      const trueCount = gates.filter((g) => st.conditions?.find((c) => c.type === g.conditionType)?.status === 'True').length;
      gateCell = `${trueCount}/${gates.length}`;
    }
    const row: PrintedRow = {
      cells: [
        name(pod),
        ready,
        status,
        restarts,
        age(pod, now),
        st.podIPs?.[0]?.ip || st.podIP || '<none>',
        spec.nodeName || '<none>',
        st.nominatedNodeName || '<none>',
        gateCell,
      ],
    };
    if (st.phase === 'Succeeded') row.conditions = POD_SUCCESS;
    else if (st.phase === 'Failed') row.conditions = POD_FAILED;
    return row;
  },
};

// ------------------------------------------------------------ services

function loadBalancerIPs(svc: Service, wide: boolean): string {
  const s = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter((x) => x !== '').join(',');
  return !wide && s.length > 16 ? `${s.slice(0, 13)}...` : s;
}

/** EXTERNAL-IP as kubectl shows it: external IPs, LB ingress, `<pending>`, the external name. */
export function serviceExternalIP(svc: Service, wide = true): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIPs(svc, wide);
      if (external.length > 0) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** PORT(S): `80/TCP`, `80:30080/TCP` with a node port. */
export function servicePorts(svc: Service): string {
  const s = (svc.spec?.ports ?? [])
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
    .join(',');
  return s === '' ? '<none>' : s;
}

const services: Printer = {
  columns: [
    NAME,
    col('Type', 'The type of the service: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    col('Cluster-IP', 'The IP address of the service, allocated from the service network.'),
    col('External-IP', 'External IPs and load-balancer ingress addresses of the service.'),
    col('Port(s)', 'The ports exposed by the service, with their node ports.'),
    AGE,
    col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { wide: true }),
  ],
  row(obj, now) {
    const svc = obj as Service;
    const spec = svc.spec ?? {};
    return {
      cells: [
        name(svc),
        spec.type ?? '',
        spec.clusterIPs?.[0] || spec.clusterIP || '<none>',
        serviceExternalIP(svc, true),
        servicePorts(svc),
        age(svc, now),
        formatLabels(spec.selector),
      ],
    };
  },
};

// ------------------------------------------------------------ replication controllers

const replicationcontrollers: Printer = {
  columns: [
    NAME,
    col('Desired', 'Number of desired pods.', { type: 'integer' }),
    col('Current', 'Number of pods currently running.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replication controller.', { type: 'integer' }),
    AGE,
    col('Containers', 'Names of each container in the template.', { wide: true }),
    col('Images', 'Images referenced by each container in the template.', { wide: true }),
    col('Selector', 'Label keys and values that pods must match to be counted by this controller.', { wide: true }),
  ],
  row(obj, now) {
    const rc = obj as ReplicationController;
    const containers = rc.spec?.template?.spec?.containers ?? [];
    return {
      cells: [
        name(rc),
        // Defaulting makes spec.replicas 1 when unset.
        rc.spec?.replicas ?? 1,
        rc.status?.replicas ?? 0,
        rc.status?.readyReplicas ?? 0,
        age(rc, now),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image ?? '').join(','),
        formatLabels(rc.spec?.selector),
      ],
    };
  },
};

// ------------------------------------------------------------ endpoints / endpointslices

/** ENDPOINTS: the first three `ip:port` pairs, then ` + N more...`. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(hostPort(a.ip, p.port));
      }
    }
  }
  const s = list.join(',');
  return more ? `${s} + ${count - max} more...` : s;
}

function listWithMore(values: string[], max = 3): string {
  const shown = values.slice(0, max).join(',');
  if (values.length > max) return `${shown} + ${values.length - max} more...`;
  return shown === '' ? '<unset>' : shown;
}

const endpoints: Printer = {
  columns: [
    NAME,
    col('Endpoints', 'Endpoints of the service: ready addresses with their ports.'),
    AGE,
  ],
  row(obj, now) {
    return { cells: [name(obj), formatEndpoints(obj as Endpoints), age(obj, now)] };
  },
};

const endpointslices: Printer = {
  columns: [
    NAME,
    col('AddressType', 'The type of address carried by this EndpointSlice.'),
    col('Ports', 'Ports of this EndpointSlice.'),
    col('Endpoints', 'Addresses of the endpoints in this slice.'),
    AGE,
  ],
  row(obj, now) {
    const slice = obj as EndpointSlice;
    const ports = (slice.ports ?? []).map((p) => (p.port !== undefined && p.port !== null ? String(p.port) : p.name ?? '*'));
    const addrs = (slice.endpoints ?? []).flatMap((e) => e.addresses ?? []);
    return { cells: [name(slice), slice.addressType ?? '', listWithMore(ports), listWithMore(addrs), age(slice, now)] };
  },
};

// ------------------------------------------------------------ nodes

/** ROLES: `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`, sorted. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) {
      roles.add(v);
    }
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

/** STATUS: Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned. */
export function nodeStatus(node: Node): string {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const nodeAddress = (node: Node, type: string): string =>
  (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';

const nodes: Printer = {
  columns: [
    NAME,
    col('Status', 'The status of the node.'),
    col('Roles', 'The roles of the node.'),
    AGE,
    col('Version', 'Kubelet version reported by the node.'),
    col('Internal-IP', 'The node address of type InternalIP.', { wide: true }),
    col('External-IP', 'The node address of type ExternalIP.', { wide: true }),
    col('OS-Image', 'OS image reported by the node from /etc/os-release.', { wide: true }),
    col('Kernel-Version', 'Kernel version reported by the node from uname -r.', { wide: true }),
    col('Container-Runtime', 'Container runtime version reported by the node.', { wide: true }),
  ],
  row(obj, now) {
    const node = obj as Node;
    const info = node.status?.nodeInfo;
    return {
      cells: [
        name(node),
        nodeStatus(node),
        nodeRoles(node),
        age(node, now),
        info?.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info?.osImage || '<unknown>',
        info?.kernelVersion || '<unknown>',
        info?.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

// ------------------------------------------------------------ namespaces, events, leases

const namespaces: Printer = {
  columns: [NAME, col('Status', 'The status of the namespace.'), AGE],
  row(obj, now) {
    return { cells: [name(obj), (obj as Namespace).status?.phase ?? '', age(obj, now)] };
  },
};

const events: Printer = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning).'),
    col('Reason', 'A short, machine understandable string that gives the reason for this event.'),
    col('Object', 'The object that this event is about.'),
    col('Subobject', 'The part of the object this event is about, e.g. a container.', { wide: true }),
    col('Source', 'The component reporting this event.', { wide: true }),
    col('Message', 'A human-readable description of the status of this operation.'),
    col('First Seen', 'The time at which the event was first recorded.', { wide: true }),
    col('Count', 'The number of times this event has occurred.', { wide: true }),
    col('Name', 'Name of the event.', { format: 'name', wide: true }),
  ],
  row(obj, now) {
    const ev = obj as Event & { series?: { count?: number; lastObservedTime?: string } };
    const first = ev.firstTimestamp ? ageSince(ev.firstTimestamp, now) : ageSince(ev.eventTime ?? undefined, now);
    let last = ev.lastTimestamp ? ageSince(ev.lastTimestamp, now) : first;
    let count = ev.count ?? 0;
    if (ev.series) {
      last = ageSince(ev.series.lastObservedTime, now);
      count = ev.series.count ?? 0;
    } else if (count === 0) {
      count = 1;
    }
    const io = ev.involvedObject ?? {};
    const kind = (io.kind ?? '').toLowerCase();
    const target = io.name ? `${kind}/${io.name}` : kind;
    const component = ev.source?.component || ev.reportingComponent || '';
    const instance = ev.source?.host || ev.reportingInstance || '';
    return {
      cells: [
        last,
        ev.type ?? '',
        ev.reason ?? '',
        target,
        io.fieldPath ?? '',
        instance ? `${component}, ${instance}` : component,
        (ev.message ?? '').trim(),
        first,
        count,
        name(ev),
      ],
    };
  },
};

const leases: Printer = {
  columns: [NAME, col('Holder', 'The holder of the lease.'), AGE],
  row(obj, now) {
    return { cells: [name(obj), (obj as Lease).spec?.holderIdentity ?? '', age(obj, now)] };
  },
};

// ------------------------------------------------------------ configmaps, secrets, serviceaccounts

/** Counts only: a Secret's values never reach a Table (kubectl describe prints sizes, client side). */
const configmaps: Printer = {
  columns: [NAME, col('Data', 'Data contains the configuration data.'), AGE],
  row(obj, now) {
    const cm = obj as ConfigMap;
    return { cells: [name(cm), Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)] };
  },
};

const secrets: Printer = {
  columns: [NAME, col('Type', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'Data contains the secret data.'), AGE],
  row(obj, now) {
    const sec = obj as Secret;
    return { cells: [name(sec), sec.type ?? '', Object.keys(sec.data ?? {}).length, age(sec, now)] };
  },
};

const serviceaccounts: Printer = {
  columns: [NAME, col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE],
  row(obj, now) {
    const sa = obj as ServiceAccount;
    return { cells: [name(sa), (sa.secrets ?? []).length, age(sa, now)] };
  },
};

// ------------------------------------------------------------ rbac.authorization.k8s.io

const CREATED_AT = col('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.', { type: 'date' });

/** Roles by creation time (printRole). */
const rolePrinter: Printer = {
  columns: [NAME, CREATED_AT],
  row(obj) {
    return { cells: [name(obj), obj.metadata.creationTimestamp ?? ''] };
  },
};

/** Bindings by the role they grant (`ClusterRole/view`), the subjects in the wide columns (printRoleBinding). */
const bindingPrinter: Printer = {
  columns: [
    NAME,
    col('Role', 'Role references the role the binding grants.'),
    AGE,
    col('Users', 'Users in the binding.', { wide: true }),
    col('Groups', 'Groups in the binding.', { wide: true }),
    col('ServiceAccounts', 'ServiceAccounts in the binding.', { wide: true }),
  ],
  row(obj, now) {
    const b = obj as RoleBinding;
    const of = (kind: string) =>
      (b.subjects ?? [])
        .filter((s) => s.kind === kind)
        .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
        .join(', ');
    return { cells: [name(b), `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, age(b, now), of('User'), of('Group'), of('ServiceAccount')] };
  },
};

// ------------------------------------------------------------ jobs, disruption budgets

/** metav1.FormatLabelSelector: the selector's string form, `<none>` when empty, `<error>` when it does not parse. */
export function formatLabelSelector(sel: LabelSelectorSpec | null | undefined): string {
  let text: string;
  try {
    text = labelSelectorFromObject(sel).toString();
  } catch {
    return '<error>';
  }
  return text === '' ? '<none>' : text;
}

const hasCondition = (job: Job, type: string): boolean => (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** printJob's STATUS: finished conditions first, then terminating, then the interim conditions. */
function jobStatus(job: Job): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  for (const t of ['Suspended', 'FailureTarget', 'SuccessCriteriaMet']) if (hasCondition(job, t)) return t;
  return 'Running';
}

function jobCompletions(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  const completions = job.spec?.completions;
  if (completions !== undefined && completions !== null) return `${succeeded}/${completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: Job, now: Date): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : now.getTime();
  return humanDuration(end - Date.parse(start));
}

const jobs: Printer = {
  columns: [
    NAME,
    col('Status', 'Status of the job.'),
    col('Completions', 'The completion status of the job.'),
    col('Duration', 'Time required to complete the job.'),
    AGE,
    col('Containers', 'Names of each container in the template.', { wide: true }),
    col('Images', 'Images referenced by each container in the template.', { wide: true }),
    col('Selector', 'Label keys and values that pods must match to be counted by this controller.', { wide: true }),
  ],
  row(obj, now) {
    const job = obj as Job;
    const containers = job.spec?.template?.spec?.containers ?? [];
    return {
      cells: [
        name(job),
        jobStatus(job),
        jobCompletions(job),
        jobDuration(job, now),
        age(job, now),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image ?? '').join(','),
        formatLabelSelector(job.spec?.selector),
      ],
    };
  },
};

const poddisruptionbudgets: Printer = {
  columns: [
    NAME,
    col('Min Available', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', { type: 'integer' }),
    AGE,
  ],
  row(obj, now) {
    const pdb = obj as PodDisruptionBudget;
    const shown = (v: number | string | undefined) => (v === undefined ? 'N/A' : String(v));
    return { cells: [name(pdb), shown(pdb.spec?.minAvailable), shown(pdb.spec?.maxUnavailable), pdb.status?.disruptionsAllowed ?? 0, age(pdb, now)] };
  },
};

// ------------------------------------------------------------ apps/v1 workloads

const CONTAINERS = col('Containers', 'Names of each container in the template.', { wide: true });
const IMAGES = col('Images', 'Images referenced by each container in the template.', { wide: true });
const SELECTOR = col('Selector', 'Label keys and values that pods must match to be counted by this controller.', { wide: true });

/** The CONTAINERS and IMAGES cells of a workload's pod template. */
function templateCells(o: { spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } }): [string, string] {
  const containers = o.spec?.template?.spec?.containers ?? [];
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image ?? '').join(',')];
}

/** printDeployment: READY is ready/desired. */
const deployments: Printer = {
  columns: [
    NAME,
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', { type: 'integer' }),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', { type: 'integer' }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  row(obj, now) {
    const d = obj as Deployment;
    return {
      cells: [
        name(d),
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        age(d, now),
        ...templateCells(d),
        formatLabelSelector(d.spec?.selector),
      ],
    };
  },
};

/** printReplicaSet: the RC's columns over a LabelSelector. */
const replicasets: Printer = {
  columns: [
    NAME,
    col('Desired', 'Number of desired pods.', { type: 'integer' }),
    col('Current', 'Number of pods currently running.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  row(obj, now) {
    const rs = obj as ReplicaSet;
    return {
      cells: [name(rs), rs.spec?.replicas ?? 1, rs.status?.replicas ?? 0, rs.status?.readyReplicas ?? 0, age(rs, now), ...templateCells(rs), formatLabelSelector(rs.spec?.selector)],
    };
  },
};

/** printDaemonSet. */
const daemonsets: Printer = {
  columns: [
    NAME,
    col('Desired', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).', { type: 'integer' }),
    col('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    col('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.', { type: 'integer' }),
    col('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
    col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', { type: 'integer' }),
    col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node.'),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  row(obj, now) {
    const ds = obj as DaemonSet;
    const st = ds.status;
    return {
      cells: [
        name(ds),
        st?.desiredNumberScheduled ?? 0,
        st?.currentNumberScheduled ?? 0,
        st?.numberReady ?? 0,
        st?.updatedNumberScheduled ?? 0,
        st?.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age(ds, now),
        ...templateCells(ds),
        formatLabelSelector(ds.spec?.selector),
      ],
    };
  },
};

/** printStatefulSet: READY is ready/desired. */
const statefulsets: Printer = {
  columns: [NAME, col('Ready', 'Number of the pod with ready state'), AGE, CONTAINERS, IMAGES],
  row(obj, now) {
    const sts = obj as StatefulSet;
    return { cells: [name(sts), `${sts.status?.readyReplicas ?? 0}/${sts.spec?.replicas ?? 1}`, age(sts, now), ...templateCells(sts)] };
  },
};

/** printControllerRevision: CONTROLLER is `<kind>.<group>/<name>` of the controller reference. */
const controllerrevisions: Printer = {
  columns: [NAME, col('Controller', 'Controller of the object'), col('Revision', 'Revision indicates the revision of the state represented by Data.', { type: 'integer' }), AGE],
  row(obj, now) {
    const cr = obj as ControllerRevision;
    const ref = (cr.metadata.ownerReferences ?? []).find((r) => r.controller === true);
    let controller = '<none>';
    if (ref) {
      const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
      controller = `${ref.kind.toLowerCase()}${group ? `.${group}` : ''}/${ref.name}`;
    }
    return { cells: [name(cr), controller, cr.revision ?? 0, age(cr, now)] };
  },
};

/** Kinds without their own columns: NAME and AGE. */
export const DEFAULT_PRINTER: Printer = {
  columns: [NAME, AGE],
  row(obj, now) {
    return { cells: [name(obj), age(obj, now)] };
  },
};

export const PRINTERS: Readonly<Record<string, Printer>> = {
  pods,
  services,
  replicationcontrollers,
  endpoints,
  endpointslices,
  nodes,
  namespaces,
  events,
  leases,
  configmaps,
  secrets,
  serviceaccounts,
  roles: rolePrinter,
  clusterroles: rolePrinter,
  rolebindings: bindingPrinter,
  clusterrolebindings: bindingPrinter,
  deployments,
  replicasets,
  daemonsets,
  statefulsets,
  controllerrevisions,
  jobs,
  poddisruptionbudgets,
};
