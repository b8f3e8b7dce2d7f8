/** What a user reads off `dig`'s output: status, flags, sections, EDNS, TCP retry. */
export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** dig saw TC and retried over TCP. */
  retriedTcp: boolean;
  /** The server's EDNS UDP size when it echoed OPT. */
  ednsUdp: number | undefined;
  text: string;
}

export function parseDig(text: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? 'NO-RESPONSE';
  const flags = (/;; flags: ([a-z ]*);/.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const udp = /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(text)?.[1];
  const section = (title: string): DigRecord[] => {
    const start = text.indexOf(`;; ${title} SECTION:\n`);
    if (start < 0) return [];
    const body = text.slice(start).split('\n').slice(1);
    const out: DigRecord[] = [];
    for (const line of body) {
      if (line.trim() === '' || line.startsWith(';')) break;
      const [name, ttl, , type, ...rest] = line.split(/\s+/);
      out.push({ name: name!, ttl: Number(ttl), type: type!, data: rest.join(' ') });
    }
    return out;
  };
  return {
    status,
    flags,
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL').filter((r) => r.type !== 'OPT'),
    retriedTcp: text.includes('Truncated, retrying in TCP mode'),
    ednsUdp: udp === undefined ? undefined : Number(udp),
    text,
  };
}
