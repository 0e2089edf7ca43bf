import { describe, expect, it } from 'vitest';
import { MITIGATIONS, parseMitigation, registerMitigation } from '../../src/mitigations/index.js';
import { fakeDetector } from './fakes.js';
import { buildModel, floatTensor, ints, seededValues } from './onnxBuild.js';

describe('parseMitigation', () => {
  it('parses every built-in into its canonical spec', () => {
    expect(parseMitigation('input-blur:1.5').spec).toBe('input-blur:1.5');
    expect(parseMitigation(' input-blur:2.0 ').spec).toBe('input-blur:2');
    expect(parseMitigation('antialias:post').spec).toBe('antialias:post:3');
    expect(parseMitigation('antialias:post:5').spec).toBe('antialias:post:5');
    expect(parseMitigation('antialias:trained').spec).toBe('antialias:trained');
    expect(parseMitigation('shift-ensemble').spec).toBe('shift-ensemble:grid:1');
    expect(parseMitigation('shift-ensemble:0,0;1,1').spec).toBe('shift-ensemble:0,0;1,1');
    expect(parseMitigation('polyphase-align:32').spec).toBe('polyphase-align:32');
    expect(parseMitigation('polyphase-align').spec).toBe('polyphase-align');
  });

  it('only antialias:post carries load options, only antialias:trained a replacement', () => {
    expect(parseMitigation('antialias:post').loadOptions?.graphRewrite?.onnx).toBeTypeOf('function');
    expect(parseMitigation('antialias:post').loadOptions?.graphRewrite?.tfjsGraph).toBeTypeOf('function');
    expect(parseMitigation('antialias:trained').replacementModel).toBeTypeOf('function');
    for (const s of ['input-blur:1', 'shift-ensemble:grid:1', 'polyphase-align:8']) {
      expect(parseMitigation(s).loadOptions).toBeUndefined();
      expect(parseMitigation(s).replacementModel).toBeUndefined();
    }
  });

  it('lists the known mitigations and their syntax for an unknown name', () => {
    let err: unknown;
    try {
      parseMitigation('blurpool:3');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const msg = (err as Error).message;
    expect(msg).toContain(
      'Expected a mitigation spec for --mitigation but received "blurpool:3" (no mitigation named "blurpool")',
    );
    for (const syntax of [
      'antialias:post[:3|5] | antialias:trained',
      'input-blur:<σ px>',
      'shift-ensemble[:<shift set>]',
      'polyphase-align[:<P>]',
    ]) {
      expect(msg).toContain(syntax);
    }
  });

  it('pins the argument errors', () => {
    expect(() => parseMitigation('input-blur')).toThrow(
      'Expected σ in input pixels from 0 to 32 (e.g. input-blur:1) for mitigation input-blur but received ""',
    );
    expect(() => parseMitigation('input-blur:-1')).toThrow(/received "-1"/);
    expect(() => parseMitigation('input-blur:abc')).toThrow(/received "abc"/);
    // a decimal number only: Number() would read hexadecimal, binary and Infinity as numbers
    for (const odd of ['0x1', '0b1', '1_0', 'Infinity'])
      expect(() => parseMitigation(`input-blur:${odd}`), odd).toThrow(/mitigation input-blur/);
    expect(parseMitigation('input-blur:1.5').spec).toBe('input-blur:1.5');
    expect(parseMitigation('input-blur:.5').spec).toBe('input-blur:0.5');
    expect(parseMitigation('input-blur:2e-1').spec).toBe('input-blur:0.2');
    expect(() => parseMitigation('antialias:post:4')).toThrow(
      'Expected a blur size of 3 or 5 (antialias:post:3, antialias:post:5) for mitigation antialias:post but received "4"',
    );
    expect(() => parseMitigation('antialias')).toThrow(
      'Expected antialias:post, antialias:post:3, antialias:post:5 or antialias:trained for mitigation antialias but received "antialias"',
    );
    expect(() => parseMitigation('shift-ensemble:grid:x')).toThrow(
      'Expected a shift set like grid:1, line:2 or 0,0;1,1 for mitigation shift-ensemble but received "grid:x"',
    );
    expect(() => parseMitigation('shift-ensemble:1,1;0,0')).toThrow('(the list must start with the reference 0,0)');
    // the ensemble moves its input by whole pixels: a fractional set is refused, not rounded or crashed on
    expect(() => parseMitigation('shift-ensemble:0,0;0.5,0')).toThrow(
      'Expected a shift set like grid:1, line:2 or 0,0;1,1 for mitigation shift-ensemble but received "0,0;0.5,0" ' +
        '(offsets must be whole pixels: the ensemble moves its input by integer shifts; 0.5,0 is fractional)',
    );
    expect(() => parseMitigation('shift-ensemble:frac:2')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining('0.5,0 is fractional') }),
    );
    expect(() => parseMitigation('polyphase-align:0')).toThrow(
      'Expected an integer stride P from 1 to 256 for mitigation polyphase-align but received 0',
    );
    expect(() => parseMitigation('polyphase-align:2.5')).toThrow(/received "2.5"/);
    // whole decimal numbers only, as for input-blur: Number() would read these as 16, 2 and 10
    for (const odd of ['0x10', '0b10', '1e1'])
      expect(() => parseMitigation(`polyphase-align:${odd}`), odd).toThrow(
        `Expected an integer stride P from 1 to 256 for mitigation polyphase-align but received "${odd}"`,
      );
    for (const bad of ['input-blur', 'antialias:post:4', 'polyphase-align:0'])
      expect(() => parseMitigation(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});

describe('registerMitigation', () => {
  it('adds a plug-in mitigation that parseMitigation then finds', async () => {
    registerMitigation(
      'test-score-halve',
      (arg) => ({
        name: 'test-score-halve',
        spec: `test-score-halve${arg ? `:${arg}` : ''}`,
        wrap: (d) => ({
          info: d.info,
          detect: async (b) => (await d.detect(b)).map((l) => l.map((x) => ({ ...x, score: x.score / 2 }))),
          dispose: () => d.dispose(),
        }),
      }),
      { syntax: 'test-score-halve', summary: 'halves scores' },
    );
    expect(MITIGATIONS.has('test-score-halve')).toBe(true);
    const m = parseMitigation('test-score-halve');
    const det = m.wrap(
      fakeDetector(() => [{ bbox: [0, 0, 1, 1], score: 0.8, categoryId: 1 }]),
      { mode: 'pad' },
    );
    expect((await det.detect([{ data: new Uint8Array(3 * 32 * 32), width: 32, height: 32 }]))[0][0].score).toBe(0.4);
    expect(() => parseMitigation('nope')).toThrow('test-score-halve — halves scores');
  });

  it('rejects bad names, non-functions and duplicates with ERR_PLUGIN', () => {
    expect(() => registerMitigation('Bad Name', () => parseMitigation('input-blur:1'))).toThrow(
      expect.objectContaining({ code: 'ERR_PLUGIN' }),
    );
    expect(() => registerMitigation('x-ok', 42 as never)).toThrow(/Expected a function/);
    expect(() => registerMitigation('input-blur', () => parseMitigation('input-blur:1'))).toThrow(
      'A mitigation named "input-blur" is already registered',
    );
  });
});

describe('antialias mitigations', () => {
  it('antialias:post refuses a detector loaded without its graph rewrite: never reported as anti-aliased', () => {
    const m = parseMitigation('antialias:post:5');
    expect(() =>
      m.wrap(
        fakeDetector(() => []),
        { mode: 'pad' },
      ),
    ).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining('cannot rewrite') }),
    );
  });

  it('antialias:post refuses a model in which it rewrote nothing (no strided op, or every one skipped): never reported as anti-aliased', () => {
    const m = parseMitigation('antialias:post');
    const rewrite = m.loadOptions!.graphRewrite!.onnx!;
    const flat = buildModel({ inDims: [1, 3, 8, 8], nodes: [{ op: 'Relu', inputs: ['X'], outputs: ['Y'] }] });
    rewrite(flat);
    expect(() =>
      m.wrap(
        fakeDetector(() => []),
        { mode: 'pad' },
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_OPTION',
        message:
          'The mitigation antialias:post:3 found no stride-2 convolution or pooling it could rewrite in "fake" (0 ' +
          'strided ops), so nothing would be anti-aliased. Run it on a model that subsamples with stride-2 ' +
          'Conv/MaxPool/AveragePool (ONNX) or Conv2D/DepthwiseConv2dNative/MaxPool/AvgPool (TF.js) layers, or use ' +
          'antialias:trained.',
      }),
    );
    const stride4 = buildModel({
      inDims: [1, 3, 8, 8],
      nodes: [{ op: 'Conv', inputs: ['X', 'W'], outputs: ['Y'], attrs: [ints('strides', [4, 4])], name: 'c4' }],
      initializers: [floatTensor('W', [2, 3, 1, 1], seededValues(6, 1))],
    });
    rewrite(stride4);
    expect(() =>
      m.wrap(
        fakeDetector(() => []),
        { mode: 'pad' },
      ),
    ).toThrow(
      'found no stride-2 convolution or pooling it could rewrite in "fake" (1 strided op, skipped: c4 (strides [4, 4] ' +
        '(only 2-D strides [2, 2] are rewritten)))',
    );
  });

  it('antialias:trained maps a zoo model to its twin, and names the models with twins otherwise', () => {
    const m = parseMitigation('antialias:trained');
    const entry = (name: string, meta?: Record<string, unknown>) => ({ name, meta }) as never;
    const zoo = [
      entry('zoo-s', { twin: 'zoo-s-aa' }),
      entry('zoo-s-aa', { antialias: { filterSize: 3 }, twin: 'zoo-s' }),
      entry('centernet'),
    ];
    expect(m.replacementModel!(zoo[0], zoo)).toBe('zoo-s-aa');
    // a model that is already anti-aliased has no twin to compare with: refused (it would be paired with itself)
    expect(() => m.replacementModel!(zoo[1], zoo)).toThrow(
      'Model "zoo-s-aa" is already anti-aliased, so antialias:trained has nothing to replace it with (it would be ' +
        'compared with itself). Run its plain model with it: --model zoo-s --mitigation antialias:trained.',
    );
    expect(() => m.replacementModel!(zoo[2], zoo)).toThrow(
      'Model "centernet" has no anti-aliased twin, so antialias:trained cannot be applied to it. Models with twins: zoo-s. Use antialias:post to insert the blur into this model instead.',
    );
    expect(() => m.replacementModel!(zoo[2])).toThrow(/No model in the registry has one/);
    expect(
      m.wrap(
        fakeDetector(() => []),
        { mode: 'pad' },
      ).info.details,
    ).toMatchObject({ mitigations: ['antialias:trained'], antialias: { mode: 'trained' } });
  });
});
