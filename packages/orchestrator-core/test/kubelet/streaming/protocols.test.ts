import { negotiateSpdy, negotiateWebSocket, SPDY_REMOTECOMMAND_PROTOCOLS, WS_REMOTECOMMAND_PROTOCOLS } from '../../../src/kubelet/streaming/protocols.js';
import {
  encodeStatus,
  exitCodeStatus,
  outcomeStatus,
  parseRemoteCommandOptions,
  ResizeDecoder,
  successStatus,
} from '../../../src/kubelet/streaming/remotecommand.js';
import { decodeChannelFrame, encodeChannelFrame } from '../../../src/kubelet/streaming/websocket-channels.js';
import { checkPortForwardHeaders, requestIdOf } from '../../../src/kubelet/streaming/portforward.js';

describe('protocol negotiation', () => {
  it('SPDY: picks the first version kubectl offers that the kubelet speaks, or says why not', () => {
    expect(negotiateSpdy('v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io', SPDY_REMOTECOMMAND_PROTOCOLS)).toEqual({ ok: true, protocol: 'v5.channel.k8s.io' });
    expect(negotiateSpdy(['v9.channel.k8s.io', 'v4.channel.k8s.io'], SPDY_REMOTECOMMAND_PROTOCOLS)).toEqual({ ok: true, protocol: 'v4.channel.k8s.io' });
    expect(negotiateSpdy(undefined, ['portforward.k8s.io'])).toMatchObject({ ok: false, message: 'unable to upgrade: X-Stream-Protocol-Version is required' });
    expect(negotiateSpdy('v9', ['portforward.k8s.io'])).toEqual({
      ok: false,
      message: 'unable to upgrade: unable to negotiate protocol: client supports [v9], server accepts [portforward.k8s.io]',
      accepted: ['portforward.k8s.io'],
    });
  });

  it('WebSocket: v5 for kubectl 1.32, the older channel protocols for older clients, v1 binary when nothing is offered', () => {
    expect(negotiateWebSocket(['v5.channel.k8s.io'], WS_REMOTECOMMAND_PROTOCOLS, 'channel.k8s.io')).toBe('v5.channel.k8s.io');
    expect(negotiateWebSocket(['v4.base64.channel.k8s.io', 'base64.channel.k8s.io'], WS_REMOTECOMMAND_PROTOCOLS)).toBe('v4.base64.channel.k8s.io');
    expect(negotiateWebSocket([], WS_REMOTECOMMAND_PROTOCOLS, 'channel.k8s.io')).toBe('channel.k8s.io');
    expect(negotiateWebSocket(['SPDY/3.1+portforward.k8s.io'], WS_REMOTECOMMAND_PROTOCOLS, 'channel.k8s.io')).toBeUndefined();
  });
});

describe('remotecommand', () => {
  it.each([
    ['stdout=true&stderr=true', { stdin: false, stdout: true, stderr: true, tty: false }],
    ['stdin=1&stdout=1&tty=1&stderr=1', { stdin: true, stdout: true, stderr: false, tty: true }],
    ['stdin=true', { stdin: true, stdout: false, stderr: false, tty: false }],
    ['tty=true', 'you must specify at least 1 of stdin, stdout, stderr'],
    ['stdout=false', 'you must specify at least 1 of stdin, stdout, stderr'],
  ])('options from %s (a TTY drops stderr)', (q, want) => {
    expect(parseRemoteCommandOptions(new URLSearchParams(q))).toEqual(want);
  });

  it('writes the Status kubectl turns into "command terminated with exit code N", as JSON from v4 on', () => {
    expect(encodeStatus(exitCodeStatus(3), 'v5.channel.k8s.io').toString()).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(encodeStatus(successStatus(), 'v4.channel.k8s.io').toString()).toBe('{"metadata":{},"status":"Success"}');
    // Before v4 only a failure's message travels, success is an empty error channel.
    expect(encodeStatus(successStatus(), 'v3.channel.k8s.io').length).toBe(0);
    expect(encodeStatus(exitCodeStatus(2), 'channel.k8s.io').toString()).toBe('command terminated with non-zero exit code: exit status 2');
  });

  it('maps outcomes: 0 and attach are Success, a code is NonZeroExitCode, an error is InternalError', () => {
    expect(outcomeStatus(0, 'exec')).toEqual(successStatus());
    expect(outcomeStatus(undefined, 'attach')).toEqual(successStatus());
    expect(outcomeStatus(127, 'exec')).toEqual(exitCodeStatus(127));
    expect(outcomeStatus(new Error('no such container'), 'exec')).toMatchObject({ status: 'Failure', reason: 'InternalError', message: 'Internal error occurred: error executing command in container: no such container', code: 500 });
  });

  it('splits Go\'s json.Encoder resize stream into sizes, across chunks, skipping garbage', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":80,"Height":24}\n{"Wid')).toEqual([{ width: 80, height: 24 }]);
    expect(d.push('th":120,"Height":40}\nnot json\n{"Width":-1,"Height":2}\n')).toEqual([{ width: 120, height: 40 }]);
  });
});

describe('WebSocket channel frames', () => {
  it('binary: channel byte then data; base64: an ASCII digit then base64', () => {
    expect(encodeChannelFrame(1, Buffer.from('hi'), false)).toEqual(Buffer.from([1, 0x68, 0x69]));
    expect(encodeChannelFrame(2, Buffer.from('hi'), true)).toBe('2aGk=');
    expect(decodeChannelFrame(Buffer.from([0, 0x61]), false, true)).toEqual({ kind: 'data', channel: 0, data: Buffer.from('a') });
    expect(decodeChannelFrame(Buffer.from('0aGk='), true, false)).toEqual({ kind: 'data', channel: 0, data: Buffer.from('hi') });
    expect(decodeChannelFrame(Buffer.from('0a*k='), true, false)).toEqual({ kind: 'invalid', why: 'channel 0 data is not base64' });
  });

  it('v5 close signal [255, channel]; before v5 channel 255 is just data for nobody', () => {
    expect(decodeChannelFrame(Buffer.from([255, 0]), false, true)).toEqual({ kind: 'close', channel: 0 });
    expect(decodeChannelFrame(Buffer.from([255, 0, 1]), false, true)).toEqual({ kind: 'invalid', why: 'a close signal must name exactly one channel, got 2 bytes' });
    expect(decodeChannelFrame(Buffer.from([255, 0]), false, false)).toEqual({ kind: 'data', channel: 255, data: Buffer.from([0]) });
    expect(decodeChannelFrame(Buffer.alloc(0), false, true)).toEqual({ kind: 'empty' });
  });
});

describe('port-forward stream headers', () => {
  it.each([
    [['80', 'data'], { port: 80 }],
    [['65535', 'error'], { port: 65535 }],
    [[undefined, 'data'], '"port" header is required'],
    [['http', 'data'], 'unable to parse "http" as a port'],
    [['70000', 'data'], 'unable to parse "70000" as a port'],
    [['0', 'data'], 'port "0" must be > 0'],
    [['80', undefined], '"streamType" header is required'],
    [['80', 'stdin'], 'invalid stream type "stdin"'],
  ])('%j → %j', ([port, type], want) => {
    expect(checkPortForwardHeaders(port, type)).toEqual(want);
  });

  it('pairs by requestid, or by stream id for clients without one (error = id, data = id - 2)', () => {
    expect(requestIdOf('7', 'data', 9)).toBe('7');
    expect(requestIdOf(undefined, 'error', 5)).toBe('5');
    expect(requestIdOf(undefined, 'data', 7)).toBe('5');
  });
});
