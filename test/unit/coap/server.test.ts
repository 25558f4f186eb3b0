import { describe, expect, it } from "vitest";
import { Exchange } from "../../../firmware/coap/endpoint";
import {
  ACK, BAD_OPTION, BLOCK1, BLOCK2, CHANGED, CON, CONTENT, CONTINUE, CoapOption, GET, INTERNAL_SERVER_ERROR, NON,
  NOT_FOUND, PUT, REQUEST_ENTITY_INCOMPLETE, REQUEST_ENTITY_TOO_LARGE, SIZE1, SIZE2, URI_PATH,
  encodeBlock, getBlockOption, getUintOption, uintBytes, uriPath,
} from "../../../firmware/coap/message";
import { runUntil } from "../../sim/clock";
import { Rig, bytes, text, untext } from "./helpers";

const path = (...segs: string[]): CoapOption[] => segs.map((s) => ({ num: URI_PATH, value: text(s) }));
const block = (num: number, b: number, more: boolean, szx = 6): CoapOption => ({ num, value: uintBytes(encodeBlock(b, more, szx)) });

describe("server exchanges", () => {
  it("a duplicated CON is handled once and answered from the cache", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT, [], text("v" + calls));
    };
    rig.rx({ mid: 77, options: path("3", "0") });
    rig.rx({ mid: 77, options: path("3", "0") });
    expect(calls).toBe(1);
    expect(rig.sent).toHaveLength(2);
    expect(Buffer.from(rig.sent[0].bytes).equals(Buffer.from(rig.sent[1].bytes))).toBe(true);
    expect(rig.last()).toMatchObject({ type: ACK, mid: 77, code: CONTENT });
    expect(untext(rig.last().payload)).toBe("v1");
  });

  it("a duplicate while the response is pending gets the empty ACK again", () => {
    const rig = new Rig();
    let ex: Exchange | null = null;
    let calls = 0;
    rig.ep.onRequest = (e) => {
      calls++;
      ex = e;
    };
    rig.rx({ mid: 5 });
    expect(rig.sent).toHaveLength(0);
    rig.rx({ mid: 5 }); // still within the piggy-back wait: silently absorbed
    runUntil(rig.clock, rig.sched, 1000);
    expect(rig.take()).toEqual([expect.objectContaining({ type: ACK, code: 0, mid: 5 })]);
    rig.rx({ mid: 5 });
    expect(rig.take()).toEqual([expect.objectContaining({ type: ACK, code: 0, mid: 5 })]);
    ex!.respond(CHANGED);
    const resp = rig.last();
    expect(resp).toMatchObject({ type: CON, code: CHANGED });
    expect(resp.mid).not.toBe(5);
    rig.rx({ type: ACK, code: 0, mid: resp.mid, token: new Uint8Array(0) });
    runUntil(rig.clock, rig.sched, 60000);
    expect(rig.sent).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it("the dedup window is EXCHANGE_LIFETIME, the cache is bounded", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT);
    };
    rig.rx({ mid: 1 });
    runUntil(rig.clock, rig.sched, 246999);
    rig.rx({ mid: 1 });
    expect(calls).toBe(1);
    runUntil(rig.clock, rig.sched, 247001);
    rig.rx({ mid: 1 });
    expect(calls).toBe(2);
    for (let mid = 100; mid < 200; mid++) rig.rx({ mid });
    expect(calls).toBe(102);
    expect((rig.ep as any).pending.filter((p: any) => p.state === 6).length).toBeLessThanOrEqual(8); // SEEN records
  });

  it("NON requests get NON responses; duplicates are dropped", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT);
    };
    rig.rx({ type: NON, mid: 3 });
    rig.rx({ type: NON, mid: 3 });
    expect(calls).toBe(1);
    expect(rig.take()).toEqual([expect.objectContaining({ type: NON, code: CONTENT })]);
  });

  it("unknown critical option -> 4.02; unknown elective option is ignored", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT);
    };
    rig.rx({ mid: 1, options: [{ num: 9, value: new Uint8Array(0) }] });
    expect(rig.last()).toMatchObject({ type: ACK, code: BAD_OPTION, mid: 1 });
    rig.rx({ mid: 2, options: [{ num: 2048, value: new Uint8Array(0) }] });
    expect(rig.last()).toMatchObject({ code: CONTENT });
    expect(calls).toBe(1);
  });

  it("no handler -> 4.04; a throwing handler -> 5.00; respond() twice sends once", () => {
    const rig = new Rig();
    rig.rx({ mid: 1 });
    expect(rig.last().code).toBe(NOT_FOUND);
    rig.ep.onRequest = () => {
      throw new Error("bug");
    };
    rig.rx({ mid: 2 });
    expect(rig.last().code).toBe(INTERNAL_SERVER_ERROR);
    rig.ep.onRequest = (ex) => {
      ex.respond(CONTENT);
      ex.respond(CHANGED);
    };
    rig.rx({ mid: 3 });
    expect(rig.sent).toHaveLength(3);
  });
});

describe("Block1 (server side)", () => {
  function upload(rig: Rig, body: Uint8Array, opts: { skip?: number; szx?: number; size1?: number; mid?: number } = {}) {
    const szx = opts.szx ?? 6;
    const size = 16 << szx;
    const n = Math.ceil(body.length / size);
    for (let b = 0; b < n; b++) {
      if (b === opts.skip) continue;
      const options = [...path("1", "0"), block(BLOCK1, b, b < n - 1, szx)];
      if (b === 0 && opts.size1 !== undefined) options.push({ num: SIZE1, value: uintBytes(opts.size1) });
      rig.rx({ type: CON, code: PUT, mid: (opts.mid ?? 1000) + b, token: new Uint8Array([b]), options, payload: body.subarray(b * size, (b + 1) * size) });
    }
  }

  it("reassembles in-order blocks and delivers the body once", () => {
    const rig = new Rig();
    const got: Uint8Array[] = [];
    rig.ep.onRequest = (ex) => {
      got.push(new Uint8Array(ex.request.payload!));
      expect(uriPath(ex.request)).toEqual(["1", "0"]);
      expect(getUintOption(ex.request, BLOCK1)).toBe(-1);
      ex.respond(CHANGED);
    };
    const body = bytes(2500);
    upload(rig, body, { size1: 2500 });
    const replies = rig.take();
    expect(replies.map((m) => m.code)).toEqual([CONTINUE, CONTINUE, CHANGED]);
    expect(replies.map((m) => getBlockOption(m, BLOCK1))).toEqual([
      { num: 0, more: true, szx: 6 },
      { num: 1, more: true, szx: 6 },
      { num: 2, more: false, szx: 6 },
    ]);
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]).equals(Buffer.from(body))).toBe(true);
  });

  it("a duplicated block is answered from the cache and does not corrupt the body", () => {
    const rig = new Rig();
    const got: Uint8Array[] = [];
    rig.ep.onRequest = (ex) => {
      got.push(new Uint8Array(ex.request.payload!));
      ex.respond(CHANGED);
    };
    const body = bytes(300);
    const first = { type: CON, code: PUT, mid: 10, token: new Uint8Array([1]), options: [block(BLOCK1, 0, true, 4)], payload: body.subarray(0, 256) };
    rig.rx(first);
    rig.rx(first);
    rig.rx({ ...first, mid: 11, options: [block(BLOCK1, 1, false, 4)], payload: body.subarray(256) });
    expect(rig.take().map((m) => m.code)).toEqual([CONTINUE, CONTINUE, CHANGED]);
    expect(Buffer.from(got[0]).equals(Buffer.from(body))).toBe(true);
  });

  it("a missing block -> 4.08 Request Entity Incomplete", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = () => calls++;
    upload(rig, bytes(3000), { skip: 1 });
    expect(rig.take().map((m) => m.code)).toEqual([CONTINUE, REQUEST_ENTITY_INCOMPLETE]);
    expect(calls).toBe(0);
  });

  it("too big -> 4.13 with Size1 (announced or discovered)", () => {
    const rig = new Rig({ maxBodyBytes: 2048 });
    rig.ep.onRequest = () => {
      throw new Error("must not be called");
    };
    upload(rig, bytes(2100), { size1: 2100 });
    let replies = rig.take();
    expect(replies[0]).toMatchObject({ code: REQUEST_ENTITY_TOO_LARGE });
    expect(getUintOption(replies[0], SIZE1)).toBe(2048);
    upload(rig, bytes(2100, 1), { szx: 4, mid: 2000 });
    replies = rig.take();
    expect(replies.map((m) => m.code)).toEqual([...Array(8).fill(CONTINUE), REQUEST_ENTITY_TOO_LARGE]);
  });

  it("the server asks for smaller blocks when its block size is smaller", () => {
    const rig = new Rig({ blockSzx: 4 });
    const got: number[] = [];
    rig.ep.onRequest = (ex) => {
      got.push(ex.request.payload!.length);
      ex.respond(CHANGED);
    };
    const body = bytes(1500);
    rig.rx({ code: PUT, mid: 1, options: [block(BLOCK1, 0, true, 6)], payload: body.subarray(0, 1024) });
    expect(getBlockOption(rig.last(), BLOCK1)).toEqual({ num: 0, more: true, szx: 4 });
    // The client continues at the same byte offset with 256-byte blocks: 1024 / 256 = 4.
    rig.rx({ code: PUT, mid: 2, options: [block(BLOCK1, 4, true, 4)], payload: body.subarray(1024, 1280) });
    rig.rx({ code: PUT, mid: 3, options: [block(BLOCK1, 5, false, 4)], payload: body.subarray(1280) });
    expect(got).toEqual([1500]);
  });
});

describe("Block2 (server side)", () => {
  it("slices a 3000-byte response and serves follow-ups from the kept representation", () => {
    const rig = new Rig();
    const body = bytes(3000);
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT, [{ num: 12, value: uintBytes(11542) }], body);
    };
    const parts: Uint8Array[] = [];
    rig.rx({ mid: 1, options: path("3") });
    let r = rig.last();
    expect(getBlockOption(r, BLOCK2)).toEqual({ num: 0, more: true, szx: 6 });
    expect(getUintOption(r, SIZE2)).toBe(3000);
    expect(getUintOption(r, 12)).toBe(11542);
    parts.push(r.payload!);
    for (let n = 1; n <= 2; n++) {
      rig.rx({ mid: 1 + n, options: [...path("3"), block(BLOCK2, n, false)] });
      r = rig.last();
      expect(getBlockOption(r, BLOCK2)).toEqual({ num: n, more: n < 2, szx: 6 });
      expect(getUintOption(r, 12)).toBe(11542);
      parts.push(r.payload!);
    }
    expect(calls).toBe(1);
    expect(parts.map((p) => p.length)).toEqual([1024, 1024, 952]);
    expect(Buffer.concat(parts).equals(Buffer.from(body))).toBe(true);
    rig.rx({ mid: 9, options: [...path("3"), block(BLOCK2, 3, false)] });
    expect(rig.last().code).toBe(BAD_OPTION);
  });

  it("honours a smaller block size requested by the client", () => {
    const rig = new Rig();
    rig.ep.onRequest = (ex) => ex.respond(CONTENT, [], bytes(600));
    rig.rx({ mid: 1, options: [block(BLOCK2, 0, false, 4)] });
    let r = rig.last();
    expect(getBlockOption(r, BLOCK2)).toEqual({ num: 0, more: true, szx: 4 });
    expect(r.payload!.length).toBe(256);
    rig.rx({ mid: 2, options: [block(BLOCK2, 2, false, 4)] });
    r = rig.last();
    expect(getBlockOption(r, BLOCK2)).toEqual({ num: 2, more: false, szx: 4 });
    expect(r.payload!.length).toBe(88);
  });

  it("a follow-up for another resource goes to the handler, which is sliced statelessly", () => {
    const rig = new Rig();
    let calls = 0;
    rig.ep.onRequest = (ex) => {
      calls++;
      ex.respond(CONTENT, [], bytes(2000, calls));
    };
    rig.rx({ mid: 1, options: path("a") });
    rig.rx({ mid: 2, options: [...path("b"), block(BLOCK2, 1, false)] });
    expect(calls).toBe(2);
    expect(rig.last().payload![0]).toBe(bytes(2000, 2)[1024]);
  });

  it("small responses carry no block option", () => {
    const rig = new Rig();
    rig.ep.onRequest = (ex) => ex.respond(CONTENT, [], bytes(1024));
    rig.rx({ mid: 1 });
    expect(getUintOption(rig.last(), BLOCK2)).toBe(-1);
  });
});

describe("invalid UTF-8 in options", () => {
  it("never escapes receive(); a handler that reads the path fails with 5.00", () => {
    const rig = new Rig();
    const bad = { num: URI_PATH, value: new Uint8Array([0xff, 0xfe]) };
    rig.ep.onRequest = (ex) => ex.respond(CONTENT, [], text(uriPath(ex.request).join("/")));
    expect(() => rig.rx({ mid: 1, options: [bad] })).not.toThrow();
    expect(rig.last().code).toBe(INTERNAL_SERVER_ERROR);
    expect(() => rig.rx({ mid: 2, options: [bad, block(BLOCK2, 1, false)] })).not.toThrow();
    rig.rx({ code: PUT, mid: 3, options: [bad, block(BLOCK1, 0, true, 0)], payload: bytes(16) });
    expect(rig.last().code).toBe(CONTINUE);
  });
});
