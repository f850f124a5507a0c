/** The KServe v2 wire format on hand-made requests, byte by byte. */
import { describe, expect, it } from "vitest";
import { encodeInferResponse, parseInferRequest, ProtocolError } from "../../src/serve/protocol.js";

const le32 = (...xs: number[]) => Buffer.from(new Int32Array(xs).buffer);
const f32 = (...xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const withHeader = (header: unknown, ...binary: Buffer[]) => {
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...binary]), length: head.length };
};

describe("parseInferRequest", () => {
  it("takes nested JSON data row-major, booleans for BOOL, and the request's parameters and id", () => {
    const r = parseInferRequest(
      Buffer.from(
        JSON.stringify({
          id: "x",
          parameters: { p: 1 },
          inputs: [
            {
              name: "A",
              shape: [2, 2],
              datatype: "INT32",
              data: [
                [1, 2],
                [3, 4],
              ],
            },
            { name: "B", shape: [2], datatype: "BOOL", data: [true, false] },
          ],
        }),
      ),
      undefined,
      undefined,
    );
    expect(r.id).toBe("x");
    expect(r.parameters).toEqual({ p: 1 });
    expect(Array.from(r.inputs.get("A")!.data.values as ArrayLike<number>)).toEqual([1, 2, 3, 4]);
    expect(Array.from(r.inputs.get("B")!.data.values as ArrayLike<number>)).toEqual([1, 0]);
    expect(r.binaryByDefault).toBe(false);
  });

  it("reads binary inputs in order after the JSON header, beside JSON inputs", () => {
    const bytes = Buffer.concat([le32(2), Buffer.from("hi"), le32(0)]);
    const { body, length } = withHeader(
      {
        inputs: [
          { name: "I", shape: [1, 3], datatype: "INT32", parameters: { binary_data_size: 12 } },
          { name: "J", shape: [1], datatype: "FP32", data: [0.5] },
          { name: "S", shape: [2], datatype: "BYTES", parameters: { binary_data_size: bytes.length } },
          { name: "F", shape: [2], datatype: "FP32", parameters: { binary_data_size: 8 } },
        ],
        parameters: { binary_data_output: true },
      },
      le32(7, -8, 9),
      bytes,
      f32(1.5, -2.25),
    );
    const r = parseInferRequest(body, length, undefined);
    expect(Array.from(r.inputs.get("I")!.data.values as ArrayLike<number>)).toEqual([7, -8, 9]);
    expect(Array.from(r.inputs.get("J")!.data.values as ArrayLike<number>)).toEqual([0.5]);
    expect((r.inputs.get("S")!.data.values as Buffer[]).map((b) => b.toString())).toEqual(["hi", ""]);
    expect(Array.from(r.inputs.get("F")!.data.values as ArrayLike<number>)).toEqual([1.5, -2.25]);
    expect(r.binaryByDefault).toBe(true);
  });

  it("a raw body is the one input's single BYTES element, answered in binary", () => {
    const r = parseInferRequest(Buffer.from([0xff, 0xd8, 0xff]), 0, { name: "INPUT_IMAGE", datatype: "BYTES" });
    const t = r.inputs.get("INPUT_IMAGE")!;
    expect(t.shape).toEqual([1, 1]);
    expect((t.data.values as Buffer[])[0]).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(r.binaryByDefault).toBe(true);
  });

  it("refuses what does not add up, naming it", () => {
    const bad = (body: string | Buffer, length?: number) => () => parseInferRequest(Buffer.from(body), length, undefined);
    expect(bad("[]")).toThrow(/JSON object with an "inputs" list/);
    expect(bad(JSON.stringify({ inputs: [{ name: "A", shape: [-1], datatype: "INT32", data: [] }] }))).toThrow(/non-negative integers/);
    expect(bad(JSON.stringify({ inputs: [{ name: "A", shape: [2], datatype: "INT32", data: [1, 2.5] }] }))).toThrow(/must be integers; element 1 is 2.5/);
    expect(
      bad(
        JSON.stringify({
          inputs: [
            { name: "A", shape: [1], datatype: "INT32", data: [1] },
            { name: "A", shape: [1], datatype: "INT32", data: [1] },
          ],
        }),
      ),
    ).toThrow(/given twice/);
    const extra = withHeader({ inputs: [{ name: "A", shape: [1], datatype: "INT32", parameters: { binary_data_size: 4 } }] }, le32(1), Buffer.from([0]));
    expect(() => parseInferRequest(extra.body, extra.length, undefined)).toThrow(/1 bytes of binary data follow the inputs that no input claims/);
    const odd = withHeader({ inputs: [{ name: "A", shape: [1], datatype: "INT32", parameters: { binary_data_size: 3 } }] }, Buffer.from([1, 2, 3]));
    expect(() => parseInferRequest(odd.body, odd.length, undefined)).toThrow(/3 bytes is not a whole number of INT32 elements/);
    expect(bad("{}", 10)).toThrow(ProtocolError);
  });
});

describe("encodeInferResponse", () => {
  const outputs = [
    { name: "E", datatype: "FP32" as const, shape: [1, 2], data: new Float32Array([0.1, -3]) },
    { name: "S", datatype: "BYTES" as const, shape: [1, 1], data: [Buffer.from('{"a":1}')] },
  ];

  it("writes JSON data by default, float32 values exactly", () => {
    const { body, headerLength } = encodeInferResponse({ name: "m", version: "1" }, { id: "q", binaryByDefault: false }, outputs);
    expect(headerLength).toBeUndefined();
    const json = JSON.parse(body.toString());
    expect(json).toMatchObject({ model_name: "m", model_version: "1", id: "q" });
    expect(new Float32Array(json.outputs[0].data)).toEqual(new Float32Array([0.1, -3]));
    expect(json.outputs[1].data).toEqual(['{"a":1}']);
  });

  it("writes the outputs asked for in binary after the header, BYTES with length prefixes", () => {
    const { body, headerLength } = encodeInferResponse(
      { name: "m", version: "1" },
      { binaryByDefault: false, outputs: [{ name: "S", binary: true }, { name: "E" }] },
      outputs,
    );
    const header = JSON.parse(body.subarray(0, headerLength).toString());
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(["S", "E"]);
    expect(header.outputs[0].parameters).toEqual({ binary_data_size: 11 });
    expect(header.outputs[1].data).toHaveLength(2);
    expect(body.subarray(headerLength!)).toEqual(Buffer.concat([le32(7), Buffer.from('{"a":1}')]));
  });
});
