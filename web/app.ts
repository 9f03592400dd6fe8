// The try-it page: plain TypeScript against the public API, compiled to dist/web/app.js at build time.
export {};
interface Face { box: [number, number, number, number]; score: number }
interface Artwork {
  id: string;
  status: string;
  results: string[];
  faces: Face[] | null;
  error: { code: string; message: string } | null;
  duration: number;
  createdAt: string;
  parameters: { imageUrl: string };
}

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element as T;
};

const keyInput = $<HTMLInputElement>('key');
const fileInput = $<HTMLInputElement>('file');
const urlInput = $<HTMLInputElement>('url');
const status = $<HTMLParagraphElement>('status');
const submit = $<HTMLButtonElement>('submit');
const before = $<HTMLImageElement>('before');
const after = $<HTMLImageElement>('after');
const faces = document.getElementById('faces') as unknown as SVGSVGElement;
const split = $<HTMLInputElement>('split');
const KEY_STORAGE = 'face-refiner-api-key';

keyInput.value = localStorage.getItem(KEY_STORAGE) ?? '';
keyInput.addEventListener('change', () => localStorage.setItem(KEY_STORAGE, keyInput.value.trim()));

for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=source]')) {
  radio.addEventListener('change', () => {
    const fromUrl = radio.value === 'url' && radio.checked;
    urlInput.hidden = !fromUrl;
    fileInput.hidden = fromUrl;
  });
}
$<HTMLInputElement>('denoising').addEventListener('input', (event) => {
  $<HTMLOutputElement>('denoising-value').value = (event.target as HTMLInputElement).value;
});
split.addEventListener('input', () => {
  after.style.clipPath = `inset(0 0 0 ${split.value}%)`;
});
$<HTMLInputElement>('show-faces').addEventListener('change', (event) => {
  faces.style.display = (event.target as HTMLInputElement).checked ? 'block' : 'none';
});
faces.style.display = 'none';

async function api<T>(method: string, path: string, body?: BodyInit, contentType = 'application/json'): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${keyInput.value.trim()}`, ...(body ? { 'content-type': contentType } : {}) },
    body,
  });
  const data = (await response.json()) as T & { message?: string | string[] };
  if (!response.ok) throw new Error(Array.isArray(data.message) ? data.message.join('; ') : (data.message ?? response.statusText));
  return data;
}

function say(text: string, failed = false): void {
  status.textContent = text;
  status.classList.toggle('failed', failed);
}

function show(artwork: Artwork, beforeSrc: string): void {
  const result = artwork.results[0];
  if (!result) return;
  before.src = beforeSrc;
  after.src = result;
  $<HTMLAnchorElement>('download').href = result;
  $<HTMLAnchorElement>('full').href = result;
  after.onload = () => {
    faces.setAttribute('viewBox', `0 0 ${after.naturalWidth} ${after.naturalHeight}`);
    faces.innerHTML = (artwork.faces ?? [])
      .map(({ box: [x, y, w, h] }) => `<rect x="${x}" y="${y}" width="${w}" height="${h}"></rect>`)
      .join('');
  };
  $('result').hidden = false;
}

async function poll(id: string, beforeSrc: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const artwork = await api<Artwork>('GET', `/v2/artworks/${id}`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (artwork.status === 'succeeded') {
      say(`succeeded in ${artwork.duration.toFixed(2)} s of processing (${seconds} s in all), ${artwork.faces?.length ?? 0} face(s)`);
      show(artwork, beforeSrc);
      return;
    }
    if (artwork.status === 'failed' || artwork.status === 'canceled') {
      say(`${artwork.status}: ${artwork.error ? `${artwork.error.code}: ${artwork.error.message}` : ''}`, true);
      return;
    }
    say(`${artwork.status}… ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function refreshRecent(): Promise<void> {
  if (!keyInput.value.trim()) return;
  const list = await api<Artwork[]>('GET', '/v2/artworks?limit=12');
  const recent = $<HTMLUListElement>('recent');
  recent.replaceChildren(
    ...list.map((artwork) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      const thumb = artwork.results[0];
      if (thumb) {
        const img = document.createElement('img');
        img.src = thumb;
        img.alt = '';
        img.loading = 'lazy';
        button.append(img);
      }
      button.append(`${artwork.status} · ${new Date(artwork.createdAt).toLocaleTimeString()}`);
      button.addEventListener('click', () => {
        show(artwork, artwork.parameters.imageUrl);
        say(`${artwork.status} (${artwork.id})`, artwork.status === 'failed');
      });
      item.append(button);
      return item;
    }),
  );
}

$<HTMLFormElement>('form').addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    submit.disabled = true;
    $('result').hidden = true;
    try {
      localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
      let imageUrl = urlInput.value.trim();
      let beforeSrc = imageUrl;
      const file = fileInput.files?.[0];
      if (urlInput.hidden && file) {
        say('uploading…');
        const uploaded = await api<{ url: string }>('POST', '/v2/uploads', file, file.type || 'application/octet-stream');
        imageUrl = uploaded.url;
        beforeSrc = URL.createObjectURL(file);
      }
      if (!imageUrl) throw new Error('Choose an image file or give an image URL');
      const artwork = await api<Artwork>(
        'POST',
        '/v2/artworks/face-refiner',
        JSON.stringify({
          imageUrl,
          model: $<HTMLSelectElement>('model').value,
          denoising: Number($<HTMLInputElement>('denoising').value),
          outputFormat: 'png',
        }),
      );
      say('starting…');
      await poll(artwork.id, beforeSrc);
      await refreshRecent();
    } catch (error) {
      say(error instanceof Error ? error.message : String(error), true);
    } finally {
      submit.disabled = false;
    }
  })();
});

void refreshRecent().catch(() => undefined);
