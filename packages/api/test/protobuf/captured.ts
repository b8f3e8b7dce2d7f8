/**
 * Request bodies captured from the real kubectl 1.32.4 (a capture server on
 * 127.0.0.1 logged every POST), base64 of the exact bytes on the wire.
 * `debugCopyPod` is `kubectl debug src --copy-to=dst --image=alpine:3
 * --container=dbg --env=X=y -- sleep 1` of a source Pod whose every field
 * value was chosen to be recognisable (see the expectation in the test).
 */
export const CAPTURED = {
  // kubectl create namespace myns
  createNamespace: 'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhwKFAoEbXlucxIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==',
  // kubectl create service clusterip web --tcp=80:8080
  createServiceClusterIP: 'azhzAAoNCgJ2MRIHU2VydmljZRJpCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEkIKGwoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAoABIKCgNhcHASA3dlYhoAIglDbHVzdGVySVA6AEIAUgBaAGAAaAAaAgoAGgAiAA==',
  // kubectl create service nodeport np --tcp=81:8081 --node-port=30080
  createServiceNodePort: 'azhzAAoNCgJ2MRIHU2VydmljZRJnCh0KAm5wEgAaACIAKgAyADgAQgBaCQoDYXBwEgJucBJCCh0KBzgxLTgwODESA1RDUBhRIgcIABCRPxoAKIDrARIJCgNhcHASAm5wGgAiCE5vZGVQb3J0OgBCAFIAWgBgAGgAGgIKABoAIgA=',
  // kubectl create service loadbalancer lb --tcp=82:8082
  createServiceLoadBalancer: 'azhzAAoNCgJ2MRIHU2VydmljZRJpCh0KAmxiEgAaACIAKgAyADgAQgBaCQoDYXBwEgJsYhJEChsKBzgyLTgwODISA1RDUBhSIgcIABCSPxoAKAASCQoDYXBwEgJsYhoAIgxMb2FkQmFsYW5jZXI6AEIAUgBaAGAAaAAaAgoAGgAiAA==',
  // kubectl create service externalname ext --external-name=example.com --tcp=83:8083
  createServiceExternalName: 'azhzAAoNCgJ2MRIHU2VydmljZRJ3Ch8KA2V4dBIAGgAiACoAMgA4AEIAWgoKA2FwcBIDZXh0ElAKGwoHODMtODA4MxIDVENQGFMiBwgAEJM/GgAoABIKCgNhcHASA2V4dBoAIgxFeHRlcm5hbE5hbWU6AEIAUgtleGFtcGxlLmNvbVoAYABoABoCCgAaACIA',
  // kubectl create configmap cm --from-literal=a=b
  createConfigMap: 'azhzAAoPCgJ2MRIJQ29uZmlnTWFwEhwKEgoCY20SABoAIgAqADIAOABCABIGCgFhEgFiGgAiAA==',
  // kubectl create secret generic s --from-literal=p=hunter2
  createSecretGeneric: 'azhzAAoMCgJ2MRIGU2VjcmV0EiMKEQoBcxIAGgAiACoAMgA4AEIAEgwKAXASB2h1bnRlcjIaABoAIgA=',
  // kubectl create secret docker-registry reg --docker-server=registry.test --docker-username=u --docker-password=p
  createSecretDockerRegistry:
    'azhzAAoMCgJ2MRIGU2VjcmV0EpUBChMKA3JlZxIAGgAiACoAMgA4AEIAEl4KES5kb2NrZXJjb25maWdqc29uEkl7ImF1dGhzIjp7InJlZ2lzdHJ5LnRlc3QiOnsidXNlcm5hbWUiOiJ1IiwicGFzc3dvcmQiOiJwIiwiYXV0aCI6ImRUcHcifX19Gh5rdWJlcm5ldGVzLmlvL2RvY2tlcmNvbmZpZ2pzb24aACIA',
  // kubectl create serviceaccount sa1 -n kube-system
  createServiceAccount: 'azhzAAoUCgJ2MRIOU2VydmljZUFjY291bnQSIAoeCgNzYTESABoLa3ViZS1zeXN0ZW0iACoAMgA4AEIAGgAiAA==',
  // kubectl debug src --copy-to=dst ... (see above)
  debugCopyPod: 'azhzAAoJCgJ2MRIDUG9kEvoCCiYKA2RzdBIAGgdkZWZhdWx0IgAqADIAOABCAGIKCgRub3RlEgJoaRK9AhKyAQoBYxIMYnVzeWJveDoxLjM2GgJzaBoCLWMiB2VjaG8gaGkiAXgqAi93MhsKBGh0dHAQoI0BGJA/IgNVRFAqBzEuMi4zLjQ6BgoBQRIBYjoJCgVFTVBUWRIAQjAKDQoDY3B1EgYKBDIwMG0KEAoGbWVtb3J5EgYKBDY0TWkSDQoDY3B1EgYKBDEwMG1qBy9kZXYvdGxyDElmTm90UHJlc2VudIABAYgBAZABAaIBBEZpbGUSOQoDZGJnEghhbHBpbmU6MxoFc2xlZXAaATEqADoGCgFYEgF5QgBqAHIAgAEAiAEAkAEAogEERmlsZRoJT25GYWlsdXJlIAcoYzIHRGVmYXVsdDoLCgRkaXNrEgNzc2RCA3NhMUoAUgBYAWAAaACCAQJobooBAnNkmgEDc2NowgEAyAEF8AEAGhAKABoAIgAqADIASgBaAHIAGgAiAA==',
  // kubectl create job jj --from=cronjob/cj, the CronJob's template carrying
  // initContainers, env valueFrom (fieldRef, configMapKeyRef, secretKeyRef),
  // volumeMounts, tolerations and pointer fields; kubectl adds ownerReferences.
  createJobFromCronJob: 'azhzAAoPCghiYXRjaC92MRIDSm9iEqwDCncKAmpqEgAaACIAKgAyADgAQgBaBwoCamwSATFiKwohY3JvbmpvYi5rdWJlcm5ldGVzLmlvL2luc3RhbnRpYXRlEgZtYW51YWxiBwoCamESATJqJAoHQ3JvbkpvYhoCY2oiCWNqLXVpZC00MioIYmF0Y2gvdjEwARKmAjKjAgoZCgASABoAIgAqADIAOABCAFoHCgJwbBIBMxKFAhKCAQoBYxIHYnVzeWJveCoAOhwKAUYSABoVChMKAnYxEg1tZXRhZGF0YS5uYW1lOhcKAkNNEgAaDxoNCgUKA2NtMRICazEYAToUCgJTSxIAGgwiCgoECgJzMRICazJCAEoTCgF2EAEaBS9kYXRhIgNzdWIyAGoAcgCAAQCIAQCQAQCiAQAaBU5ldmVyMgBCAEoDc2EyUgBYAGABaAGCAQCKAQCaAQCiASoKBGluaXQSCGFscGluZTozGgR0cnVlKgBCAGoAcgCAAQCIAQCQAQCiAQCoAQCyARoKAWsSBUVxdWFsGgF2IglOb0V4ZWN1dGUoHsIBAnBj6gECcmP6AQVOZXZlchoIIAAoADAAOgAaACIA',
  // kubectl create deployment web --image=registry.local/a:1 --replicas=3 --port=80
  createDeployment: 'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EsEBCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEo8BCAMSDAoKCgNhcHASA3dlYhp1ChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViElUSNwoBYRIScmVnaXN0cnkubG9jYWwvYToxKgAyCgoAEAAYUCIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=',
} as const;
