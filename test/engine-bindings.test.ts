import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { engineRegistry, engineSettings } from '../src/engine-settings.js';
import { parseEngineSpec, parseModelEngines } from '../src/refine/engines/binding.js';
import { classicalProvider } from '../src/refine/engines/classical.js';
import { engineName } from '../src/refine/engines/engine.js';
import { EngineRegistry } from '../src/refine/engines/registry.js';

describe('MODEL_ENGINES', () => {
  test('binds API models to catalogue restorers, ComfyUI checkpoints or the classical engine', () => {
    const bindings = parseModelEngines(
      'tengrai-20231128-m-d.safetensors=gfpgan_1.4, tengrai-20240423-m-f.safetensors=comfyui:sd_xl_base_1.0.safetensors',
    );
    assert.deepEqual(bindings, {
      'tengrai-20231128-m-d.safetensors': { kind: 'restorer', model: 'gfpgan_1.4' },
      'tengrai-20240423-m-f.safetensors': { kind: 'comfyui', checkpoint: 'sd_xl_base_1.0.safetensors' },
    });
    assert.deepEqual(parseEngineSpec('classical'), { kind: 'classical' });
    assert.equal(engineName({ kind: 'comfyui', checkpoint: 'x.safetensors' }), 'comfyui:x.safetensors');
    assert.deepEqual(parseModelEngines(''), {});
  });

  test('a wrong entry stops the start with what is accepted', () => {
    const cases: Array<[string, RegExp]> = [
      ['gfpgan_1.4', /Expected model=engine entries but received "gfpgan_1.4"/],
      ['unknown.safetensors=gfpgan_1.4', /Expected one of tengrai-20231128-m-d.safetensors, tengrai-20240423-m-f.safetensors before "=" but received "unknown.safetensors"/],
      ['tengrai-20231128-m-d.safetensors=comfyui:', /Expected comfyui:<checkpoint file name>/],
      ['tengrai-20231128-m-d.safetensors=../evil', /Expected classical, a restorer name such as gfpgan_1.4, or comfyui:<checkpoint>/],
      ['tengrai-20231128-m-d.safetensors=classical,tengrai-20231128-m-d.safetensors=codeformer', /bound twice/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => loadConfig({ MODEL_ENGINES: value }), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    }
  });

  test('MODELS_DIR defaults under DATA_DIR; INFERENCE_THREADS is a positive integer', () => {
    assert.equal(loadConfig({ DATA_DIR: '/srv/fr' }).modelsDir, '/srv/fr/models');
    assert.equal(loadConfig({ MODELS_DIR: '/models' }).modelsDir, '/models');
    assert.equal(loadConfig({ INFERENCE_THREADS: '3' }).inferenceThreads, 3);
    assert.throws(() => loadConfig({ INFERENCE_THREADS: '0' }), /Expected an integer between 1 and 256 for INFERENCE_THREADS but received "0"/);
  });

  test('EXECUTION_PROVIDER is cpu or cuda', () => {
    assert.equal(loadConfig({}).executionProvider, 'cpu');
    assert.equal(loadConfig({ EXECUTION_PROVIDER: 'cuda' }).executionProvider, 'cuda');
    assert.throws(() => loadConfig({ EXECUTION_PROVIDER: 'rocm' }), /Expected cpu or cuda for EXECUTION_PROVIDER but received "rocm"/);
  });

  test('a binding that can never run stops the start: an unknown restorer, an engine this build does not have', () => {
    const unknown = engineSettings(loadConfig({ MODEL_ENGINES: 'tengrai-20231128-m-d.safetensors=gfpgan_9' }));
    assert.throws(
      () => engineRegistry(unknown),
      (error: unknown) => error instanceof ConfigError && /^MODEL_ENGINES: tengrai-20231128-m-d\.safetensors: Expected a restorer from the catalogue \(codeformer, .*\) or an entry of MODELS_FILE but received "gfpgan_9"$/.test(error.message),
    );
    // a build without the restorer engine: its bindings are refused at start, not failed job by job
    const bound = engineSettings(loadConfig({ MODEL_ENGINES: 'tengrai-20240423-m-f.safetensors=gfpgan_1.4' }));
    assert.throws(
      () => new EngineRegistry(bound, [classicalProvider()]),
      /^Error: MODEL_ENGINES: tengrai-20240423-m-f\.safetensors: Expected an engine of this build \(classical\) but received a restorer binding$/,
    );
    assert.equal(engineRegistry(bound).bindingFor('tengrai-20240423-m-f.safetensors').kind, 'restorer');
  });
});
