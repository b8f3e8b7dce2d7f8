import { bodyFormat, decodeBody } from '../../src/apiserver/http/request.js';
import { statusOf } from './status-of.js';

// `kubectl create namespace myns` as kubectl 1.32 sends it (captured; see packages/api/test/protobuf/captured.ts).
const NAMESPACE = Buffer.from('azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhwKFAoEbXlucxIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==', 'base64');

describe('protobuf request bodies', () => {
  it('the protobuf Content-Type is its own body format', () => {
    expect(bodyFormat('application/vnd.kubernetes.protobuf')).toBe('protobuf');
  });

  it('a protobuf body decodes to the object the JSON path would parse', () => {
    expect(decodeBody(NAMESPACE, 'protobuf')).toEqual(decodeBody(Buffer.from('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"myns"},"spec":{},"status":{}}'), 'json'));
  });

  it('an undecodable body is 400 with one line; a kind without a description is 415 naming it', () => {
    const cut = statusOf(() => decodeBody(NAMESPACE.subarray(0, 30), 'protobuf'));
    expect(cut).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(cut.message).toMatch(/^the body could not be decoded as protobuf: .*truncated/);
    expect(cut.message).not.toContain('\n');
    expect(statusOf(() => decodeBody(Buffer.from('{"kind":"Namespace"}'), 'protobuf'))).toMatchObject({ code: 400, message: expect.stringContaining('protobuf magic') });
    // An envelope of a batch/v1 CronJob (kubectl create cronjob): a kind without a description.
    const typeMeta = Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from('batch/v1'), Buffer.from([0x12, 7]), Buffer.from('CronJob')]);
    const cronJob = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, typeMeta.length]), typeMeta, Buffer.from([0x12, 2, 0x0a, 0x00])]);
    expect(statusOf(() => decodeBody(cronJob, 'protobuf'))).toEqual({ code: 415, reason: 'UnsupportedMediaType', message: 'protobuf bodies of kind CronJob (batch/v1) are not supported; send application/json' });
  });
});
