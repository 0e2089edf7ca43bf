/** The KServe v2 codec against the specification's published examples (test/fixtures/kserve/README.md). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../../src/core/errors.js';
import {
  decodeInferResponse,
  encodeInferRequest,
  parseModelMetadata,
} from '../../../src/detectors/http/kserveProtocol.js';
import { REPO_ROOT } from '../../helpers/shared.js';

const fixture = (name: string) => readFileSync(path.join(REPO_ROOT, 'test/fixtures/kserve', name));
const WHAT = 'POST http://127.0.0.1:8000/v2/models/mymodel/infer';

describe('KServe v2 inference responses (required_api.md examples)', () => {
  it('reads the JSON response example: output0, FP32 [3,2]', () => {
    const [out] = decodeInferResponse({ headers: {}, body: fixture('infer-response.json') }, WHAT);
    expect(out.name).toBe('output0');
    expect(out.dims).toEqual([3, 2]);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.data as Float32Array)).toEqual([1.0, 1.1, 2.0, 2.1, 3.0, 3.1].map(Math.fround));
  });

  it('reads tensor data in its natural (nested) form as row-major, INT64 as int64', () => {
    const [out] = decodeInferResponse({ headers: {}, body: fixture('infer-response-nested.json') }, WHAT);
    expect(out.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(out.data as BigInt64Array, Number)).toEqual([1, 2, 4, 5]);
  });

  it('reads the binary response example: JSON header of Inference-Header-Content-Length bytes, then 24 bytes', () => {
    const header = Buffer.from(JSON.stringify(JSON.parse(fixture('infer-response-binary-header.json').toString())));
    const values = Float32Array.from([1.0, 1.1, 2.0, 2.1, 3.0, 3.1]);
    const body = Buffer.concat([header, Buffer.from(values.buffer)]);
    const [out] = decodeInferResponse(
      { headers: { 'inference-header-content-length': String(header.length) }, body },
      WHAT,
    );
    expect(out.dims).toEqual([3, 2]);
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(values));
  });

  it('refuses an error object, a size that does not fit the shape and a cut binary body, naming the URL', () => {
    const cases = [
      { headers: {}, body: fixture('error.json'), text: /answered with an error: unexpected inference input/ },
      {
        headers: {},
        body: Buffer.from('{"outputs":[{"name":"o","shape":[3,2],"datatype":"FP32","data":[1,2,3]}]}'),
        text: /3 values for shape \[3,2\]/,
      },
      {
        headers: { 'inference-header-content-length': String(fixture('infer-response-binary-header.json').length) },
        body: Buffer.concat([fixture('infer-response-binary-header.json'), Buffer.alloc(10)]),
        text: /binary_data_size 24 but only 10 bytes are left/,
      },
      { headers: {}, body: Buffer.from('{"outputs": [ {"name"'), text: /not JSON/ },
      {
        // bytes no output declares: the binary_data_size values do not describe the body, so no output can be trusted
        headers: { 'inference-header-content-length': String(fixture('infer-response-binary-header.json').length) },
        body: Buffer.concat([fixture('infer-response-binary-header.json'), Buffer.alloc(24 + 8)]),
        text: /8 bytes after the last binary output/,
      },
    ];
    for (const c of cases) {
      let err: unknown;
      try {
        decodeInferResponse(c, WHAT);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShiftbenchError);
      expect((err as ShiftbenchError).code).toBe('ERR_MODEL_OUTPUT');
      expect((err as Error).message).toContain(WHAT);
      expect((err as Error).message).toMatch(c.text);
    }
  });
});

describe('KServe v2 inference responses: JSON data that does not fit an integer datatype', () => {
  const answer = (datatype: string, data: unknown[]) => ({
    headers: {},
    body: Buffer.from(
      `{"outputs":[{"name":"labels","shape":[${data.length}],"datatype":"${datatype}","data":[${data.join(',')}]}]}`,
    ),
  });
  it('reads integers in range exactly (the limits of each type included)', () => {
    const read = (datatype: string, data: number[]) =>
      Array.from(decodeInferResponse(answer(datatype, data), WHAT)[0].data as ArrayLike<number | bigint>, Number);
    expect(read('UINT8', [0, 255])).toEqual([0, 255]);
    expect(read('INT8', [-128, 127])).toEqual([-128, 127]);
    expect(read('INT16', [-32768, 32767])).toEqual([-32768, 32767]);
    expect(read('INT32', [-2147483648, 2147483647])).toEqual([-2147483648, 2147483647]);
    expect(read('INT64', [-5, 3, 2.0])).toEqual([-5, 3, 2]);
  });
  it('refuses a fraction, a value out of the type’s range or an overflow to Infinity, naming the URL and the output', () => {
    const cases: [string, string[], RegExp][] = [
      ['INT64', ['1', '2.5'], /output "labels" holds 2\.5 at index 1, not a valid INT64 value/],
      ['INT64', ['1e999'], /output "labels" holds Infinity at index 0, not a valid INT64 value/],
      ['INT64', ['9223372036854775808'], /holds 9223372036854776000 at index 0, not a valid INT64 value/],
      ['INT32', ['2147483648'], /holds 2147483648 at index 0, not a valid INT32 value/],
      ['INT16', ['40000'], /holds 40000 at index 0, not a valid INT16 value/],
      ['INT8', ['0', '-129'], /holds -129 at index 1, not a valid INT8 value/],
      ['UINT8', ['300'], /holds 300 at index 0, not a valid UINT8 value/],
      ['UINT8', ['-1'], /holds -1 at index 0, not a valid UINT8 value/],
    ];
    for (const [datatype, data, text] of cases) {
      let err: unknown;
      try {
        decodeInferResponse(answer(datatype, data), WHAT);
      } catch (e) {
        err = e;
      }
      expect(err, `${datatype} ${data.join(',')}`).toBeInstanceOf(ShiftbenchError);
      expect((err as ShiftbenchError).code).toBe('ERR_MODEL_OUTPUT');
      expect((err as Error).message).toContain(WHAT);
      expect((err as Error).message).toMatch(text);
    }
  });
});

describe('KServe v2 inference requests', () => {
  it('JSON: the input as a flat data array, the outputs asked by name; float32 values survive exactly', () => {
    const data = Float32Array.from([0.1, 1 / 3, 255 / 7, -2.5]);
    const { body, headers } = encodeInferRequest(
      { name: 'images', datatype: 'FP32', shape: [1, 1, 2, 2], data },
      ['boxes', 'scores'],
      false,
    );
    expect(headers['content-type']).toBe('application/json');
    const json = JSON.parse(body.toString());
    expect(json).toEqual({
      inputs: [{ name: 'images', shape: [1, 1, 2, 2], datatype: 'FP32', data: Array.from(data) }],
      outputs: [{ name: 'boxes' }, { name: 'scores' }],
    });
    expect(Float32Array.from(json.inputs[0].data)).toEqual(data);
  });

  it('binary: the request of the binary-extension example (binary_data_size, binary_data outputs, header length)', () => {
    const data = Uint8Array.from([1, 2, 3, 4]);
    const { body, headers } = encodeInferRequest(
      { name: 'input0', datatype: 'UINT8', shape: [2, 2], data },
      ['output0'],
      true,
    );
    const n = Number(headers['inference-header-content-length']);
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(body.length).toBe(n + 4);
    expect(JSON.parse(body.subarray(0, n).toString())).toEqual(
      JSON.parse(fixture('infer-request-binary-header.json').toString()),
    );
    expect(Array.from(body.subarray(n))).toEqual([1, 2, 3, 4]);
  });
});

describe('KServe v2 model metadata', () => {
  it('reads $metadata_model_response and refuses what is not one', () => {
    const meta = parseModelMetadata(JSON.parse(fixture('model-metadata.json').toString()), 'GET u');
    expect(meta.versions).toEqual(['1', '2']);
    expect(meta.inputs[0]).toEqual({ name: 'images', datatype: 'FP32', shape: [-1, 3, 256, 256] });
    expect(meta.outputs.map((o) => o.name)).toEqual(['boxes', 'labels', 'scores']);
    expect(() =>
      parseModelMetadata({ name: 'm', inputs: [{ name: 'x' }], outputs: [] }, 'GET http://h/v2/models/m'),
    ).toThrow(/GET http:\/\/h\/v2\/models\/m: inputs\[0\]/);
  });
});
