import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { fixture, ROOT } from './helpers/paths.js';
import { countChanged, decodePixels } from './helpers/pixels.js';
import { InProcessApi } from './helpers/in-process.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (skip) process.stdout.write(`web page end-to-end test skipped: ${skip}\n`);
const SHOTS = path.join(ROOT, 'test-output');

describe('the /app page in headless Chromium', { skip }, () => {
  // private networks off: an uploaded image must still work, read from storage rather than fetched
  const service = new ServiceProcess(tempDataDir('web'), { ALLOW_PRIVATE_NETWORKS: 'false' });
  let browser: Browser;
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await service.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await service.stop();
  });

  test('upload a face photo, refine it, compare before and after', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${service.url}/app`);
    await page.fill('#key', ADMIN_KEY);
    await page.setInputFiles('#file', fixture('faces/astronaut.png'));
    await page.selectOption('#model', 'tengrai-20240423-m-f.safetensors');
    await page.screenshot({ path: path.join(SHOTS, 'app-1-before-submit.png'), fullPage: true });
    await page.click('#submit');
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '') !== '');
    await page.screenshot({ path: path.join(SHOTS, 'app-2-during.png'), fullPage: true });
    await page.waitForFunction(() => /^(succeeded|failed)/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 60_000 });
    const statusText = (await page.textContent('#status')) ?? '';
    assert.match(statusText, /^succeeded in [\d.]+ s .*1 face/);
    await page.waitForFunction(() => (document.getElementById('after') as HTMLImageElement).complete);
    await page.check('#show-faces');
    assert.equal(await page.locator('#faces rect').count(), 1);
    await page.screenshot({ path: path.join(SHOTS, 'app-3-after.png'), fullPage: true });

    // the after image is the refined one: same size, its face pixels differ from the upload
    const afterSrc = await page.getAttribute('#after', 'src');
    assert.ok(afterSrc);
    const refined = Buffer.from(await (await fetch(afterSrc)).arrayBuffer());
    const changed = countChanged(await decodePixels(fixture('faces/astronaut.png')), await decodePixels(refined), () => true);
    assert.ok(changed.inside + changed.outside > 5000, `only ${changed.inside + changed.outside} pixels differ`);
    assert.equal(await page.getAttribute('#download', 'href'), afterSrc);

    // keyboard: the comparison slider moves with the arrow keys
    await page.focus('#split');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    assert.match((await page.getAttribute('#after', 'style')) ?? '', /inset\(0(px)? 0(px)? 0(px)? 55%\)/);

    // the recent list shows it with a thumbnail
    await page.waitForSelector('#recent li img');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a failure shows the artwork error; the page fits a phone screen', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    await page.goto(`${service.url}/app`);
    await page.fill('#key', ADMIN_KEY);
    await page.check('input[name=source][value=url]');
    // private networks are off in this service: a loopback URL is refused when fetched
    await page.fill('#url', `${service.url}/app`);
    await page.click('#submit');
    await page.waitForFunction(() => /^failed/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.match((await page.textContent('#status')) ?? '', /FETCH_BLOCKED_ADDRESS/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    await page.screenshot({ path: path.join(SHOTS, 'app-4-phone-failure.png'), fullPage: true });
    await page.close();
  });
});

describe('the upload route', () => {
  // HTTP only (no job runs): the API in this process, through inject()
  const service = new InProcessApi(tempDataDir('uploads'), { MAX_IMAGE_BYTES: '1000000', MAX_IMAGE_PIXELS: '1000000' });
  before(() => service.start());
  after(() => service.stop());

  const upload = (body: Buffer | string, type = 'image/png', key: string | null = ADMIN_KEY): Promise<Response> =>
    service.fetch('/v2/uploads', {
      method: 'POST',
      headers: { 'content-type': type, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body,
    });

  test('an image is stored and its signed URL works as imageUrl and without the key', async () => {
    const response = await upload(fs.readFileSync(fixture('faces/grace-hopper.jpg')), 'image/jpeg');
    assert.equal(response.status, 201);
    const body = (await response.json()) as { url: string; format: string; width: number; height: number };
    assert.equal(body.format, 'jpeg');
    assert.deepEqual([body.width, body.height], [512, 600]);
    assert.equal((await service.fetch(body.url)).status, 200);
    const tampered = body.url.replace(/signature=./, 'signature=x');
    assert.equal((await service.fetch(tampered)).status, 403);
  });

  const refusals: Array<[string, () => Promise<Response>, number, RegExp]> = [
    ['no API key', () => upload(Buffer.from('x'), 'image/png', null), 401, /Authorization/],
    ['bytes that are not an image', () => upload(Buffer.from('<html></html>')), 400, /Expected a JPEG, PNG/],
    ['an SVG', () => upload('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', 'image/svg+xml'), 400, /received svg/],
    ['more bytes than MAX_IMAGE_BYTES', () => upload(Buffer.alloc(1_200_000, 1)), 413, /larger than the accepted 1000000 bytes/],
    ['more pixels than MAX_IMAGE_PIXELS', () => upload(fs.readFileSync(fixture('faces/solvay-1927-2126.jpg')), 'image/jpeg'), 400, /at most 1000000 pixels/],
    ['an empty body', () => upload(Buffer.alloc(0)), 400, /Expected the image bytes/],
    ['a text body', () => upload('hello', 'text/plain'), 415, /Content-Type/],
  ];
  for (const [name, send, status, message] of refusals) {
    test(`${name}: ${status}`, async () => {
      const response = await send();
      assert.equal(response.status, status);
      const body = (await response.json()) as { message: string; statusCode: number };
      assert.equal(body.statusCode, status);
      assert.match(String(body.message), message);
    });
  }
});
