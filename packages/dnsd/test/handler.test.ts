import { Rcode, Type, encodeQuery, parseQuery, WireError, Flag } from '../src/index.js';
import { decode, rig } from './fixtures.js';

const Z = 'cluster.local';

function headless(n: number) {
  const addresses = Array.from({ length: n }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, hostname: `web-${i}` }));
  return [
    { kind: 'Service', metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } },
    { kind: 'Endpoints', metadata: { name: 'big', namespace: 'default' }, subsets: [{ addresses, ports: [{ name: 'http', port: 80 }] }] },
  ];
}

describe('query handling: EDNS0, truncation, cache, bad packets', () => {
  it('a headless service with 100 endpoints is truncated with TC over UDP and whole over TCP', () => {
    const r = rig({ objects: headless(100) });
    const udp = r.raw(`big.default.svc.${Z}`, Type.A);
    expect(udp.length).toBeLessThanOrEqual(512);
    const u = decode(udp);
    expect(u.tc).toBe(true);
    expect(u.answers.length).toBeGreaterThan(0);
    expect(u.answers.length).toBeLessThan(100);
    const t = decode(r.raw(`big.default.svc.${Z}`, Type.A, { tcp: true }));
    expect(t.tc).toBe(false);
    expect(t.answers).toHaveLength(100);
  });

  it('honours the advertised EDNS size and echoes OPT', () => {
    const r = rig({ objects: headless(100) });
    const buf = r.raw(`big.default.svc.${Z}`, Type.A, { udpSize: 4096 });
    const d = decode(buf);
    expect(d.tc).toBe(false);
    expect(d.answers).toHaveLength(100);
    expect(buf.length).toBeGreaterThan(512);
    const small = r.raw(`big.default.svc.${Z}`, Type.A, { udpSize: 1232 });
    expect(small.length).toBeLessThanOrEqual(1232);
    expect(decode(small).tc).toBe(true);
    // OPT echoed: the last additional record is type 41.
    const withOpt = r.raw(`frontend.default.svc.${Z}`, Type.A, { udpSize: 1232 });
    expect(withOpt.readUInt16BE(10)).toBe(1);
    const noOpt = r.raw(`frontend.default.svc.${Z}`, Type.A);
    expect(noOpt.readUInt16BE(10)).toBe(0);
  });

  it('answers BADVERS to EDNS versions above 0', () => {
    const r = rig();
    const q = encodeQuery(9, `frontend.default.svc.${Z}`, Type.A, { edns: { udpSize: 1232, version: 1, dnssecOk: false } });
    const res = r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }) as Buffer;
    expect(res.readUInt16BE(6)).toBe(0); // no answers
    // BADVERS = 16: header rcode 0, OPT extended rcode 1.
    expect(res[3]! & 0xf).toBe(0);
    const optTtlHigh = res[res.length - 11 + 5]!;
    expect(optTtlHigh).toBe(1);
  });

  it('the wire cache serves a second query with its own ID and RD bit, and forgets on index change', () => {
    const r = rig();
    const first = decode(r.raw(`frontend.default.svc.${Z}`, Type.A, { id: 1 }));
    expect(r.cache.size).toBe(1);
    const q = encodeQuery(777, `frontend.default.svc.${Z}`, Type.A, { rd: false });
    const hit = r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }) as Buffer;
    const d = decode(hit);
    expect(d.id).toBe(777);
    expect(d.rd).toBe(false);
    expect(first.rd).toBe(true);
    expect(d.answers).toEqual(first.answers);
    expect(r.cache.hits).toBe(1);
    r.index.deleteService('default', 'frontend');
    expect(r.cache.size).toBe(0);
    expect(r.ask(`frontend.default.svc.${Z}`, Type.A).rcode).toBe(Rcode.NXDOMAIN);
  });

  it('keys the cache by the exact question bytes: another case is another entry', () => {
    const r = rig();
    r.raw(`frontend.default.svc.${Z}`, Type.A);
    const d = r.ask(`FRONTEND.default.svc.${Z}`, Type.A);
    expect(d.answers[0]).toMatchObject({ name: `FRONTEND.default.svc.${Z}` });
    expect(r.cache.size).toBe(2);
  });

  it('drops packets shorter than a header and responses; FORMERR for broken questions; NOTIMP for other opcodes', () => {
    const r = rig();
    const ctx = { transport: 'udp' as const, remote: '127.0.0.1' };
    expect(r.handler.handle(Buffer.alloc(5), ctx)).toBeUndefined();
    const q = encodeQuery(5, `frontend.default.svc.${Z}`, Type.A);
    const resp = Buffer.from(q);
    resp.writeUInt16BE(resp.readUInt16BE(2) | Flag.QR, 2);
    expect(r.handler.handle(resp, ctx)).toBeUndefined();
    const cut = q.subarray(0, q.length - 3);
    const fe = r.handler.handle(cut, ctx) as Buffer;
    expect(fe.readUInt16BE(0)).toBe(5);
    expect(fe[3]! & 0xf).toBe(Rcode.FORMERR);
    const op = Buffer.from(q);
    op[2] = (op[2]! & 0x87) | (2 << 3); // opcode STATUS
    expect((r.handler.handle(op, ctx) as Buffer)[3]! & 0xf).toBe(Rcode.NOTIMP);
  });

  it('non-IN classes are refused', () => {
    const r = rig();
    const q = encodeQuery(5, `frontend.default.svc.${Z}`, Type.A);
    q.writeUInt16BE(3, q.length - 2); // CH
    expect((r.handler.handle(q, { transport: 'udp', remote: '127.0.0.1' }) as Buffer)[3]! & 0xf).toBe(Rcode.REFUSED);
  });

  it('names outside the zone from a source outside --allow-recursion get REFUSED', () => {
    const r = rig({ acl: ['127.0.0.0/8'] });
    const d = r.ask('example.org', Type.A, { remote: '192.0.2.7' });
    expect(d.rcode).toBe(Rcode.REFUSED);
    expect(d.ra).toBe(false);
  });
});

describe('query parsing', () => {
  it('keeps the question bytes and the EDNS parameters', () => {
    const q = parseQuery(encodeQuery(1, 'A.b', Type.AAAA, { edns: { udpSize: 4000, version: 0, dnssecOk: true } }));
    expect(q).toMatchObject({ id: 1, name: 'a.b', labels: ['A', 'b'], type: Type.AAAA, class: 1, edns: { udpSize: 4000, version: 0, dnssecOk: true } });
    expect(q.questionBytes.toString('hex')).toBe('0141016200001c0001');
  });

  it('clamps an EDNS size below 512 to 512', () => {
    expect(parseQuery(encodeQuery(1, 'a', Type.A, { edns: { udpSize: 100, version: 0, dnssecOk: false } })).edns?.udpSize).toBe(512);
  });

  it('rejects a compression pointer in the question', () => {
    const q = Buffer.from('000101000001000000000000c00c00010001', 'hex');
    expect(() => parseQuery(q)).toThrow(WireError);
  });
});
