import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WARP_TEMPLATES } from '../src/refine/engines/aligned-face.js';
import { BUILT_IN_RESTORERS } from '../src/refine/engines/restorers/catalogue.js';

// Checked by hand against FaceFusion's source: processors/modules/face_enhancer (create_static_model_set),
// choices.py (download_provider_set), face_helper.py (the warp templates). A change here is a change of fact.
describe('the built-in restorer catalogue', () => {
  test('names, sizes and templates are those of FaceFusion face enhancer', () => {
    assert.deepEqual(
      BUILT_IN_RESTORERS.map((e) => [e.name, e.kind, e.size, e.template]),
      [
        ['codeformer', 'codeformer', 512, 'ffhq_512'],
        ['gfpgan_1.2', 'gfpgan', 512, 'ffhq_512'],
        ['gfpgan_1.3', 'gfpgan', 512, 'ffhq_512'],
        ['gfpgan_1.4', 'gfpgan', 512, 'ffhq_512'],
        ['gpen_bfr_256', 'gpen', 256, 'arcface_128'],
        ['gpen_bfr_512', 'gpen', 512, 'ffhq_512'],
        ['gpen_bfr_1024', 'gpen', 1024, 'ffhq_512'],
        ['gpen_bfr_2048', 'gpen', 2048, 'ffhq_512'],
        ['restoreformer_plus_plus', 'restoreformer', 512, 'ffhq_512'],
      ],
    );
    assert.deepEqual(WARP_TEMPLATES.ffhq_512[2], { x: 0.50123859, y: 0.61331904 });
    assert.deepEqual(WARP_TEMPLATES.arcface_128[0], { x: 0.36167656, y: 0.40387734 });
  });

  test('each model and its CRC32 .hash come from release models-3.0.0 on GitHub, Hugging Face and its mirror', () => {
    const gfpgan = BUILT_IN_RESTORERS.find((e) => e.name === 'gfpgan_1.4');
    assert.deepEqual(gfpgan?.urls, [
      'https://github.com/facefusion/facefusion-assets/releases/download/models-3.0.0/gfpgan_1.4.onnx',
      'https://huggingface.co/facefusion/models-3.0.0/resolve/main/gfpgan_1.4.onnx',
      'https://hf-mirror.com/facefusion/models-3.0.0/resolve/main/gfpgan_1.4.onnx',
    ]);
    assert.deepEqual(gfpgan?.crc32Urls, gfpgan?.urls.map((u) => u.replace(/\.onnx$/, '.hash')));
    for (const entry of BUILT_IN_RESTORERS) {
      assert.equal(entry.file, `${entry.name}.onnx`);
      assert.deepEqual(entry.urls, gfpgan?.urls.map((u) => u.replace('gfpgan_1.4', entry.name)), entry.name);
    }
  });
});
