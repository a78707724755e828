/**
 * Headless Chromium (Debian's `chromium` package) through playwright-core, to
 * check that the timeline SVG renders and to turn it into a PNG.
 */
import { existsSync } from "node:fs";
import { chromium, type Page } from "playwright-core";

/** Flags for a sandboxless, offline, quiet headless Chromium. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The Chromium executable: $CHROMIUM_PATH, else Debian's, else null. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export type SvgRendering = {
  /** The PNG screenshot of the SVG element. */
  png: Buffer;
  /** The SVG element's box on the page, CSS px. */
  box: { x: number; y: number; width: number; height: number };
};

/**
 * Opens the SVG alone in a page of headless Chromium, sized to it, and runs
 * `fn` on that page.
 */
export async function withSvgPage<T>(
  svg: string,
  fn: (page: Page, box: SvgRendering["box"]) => Promise<T>,
  options: { executablePath?: string; scale?: number } = {},
): Promise<T> {
  const executablePath = options.executablePath ?? findChromium();
  if (executablePath === null) {
    throw new Error(
      "Chromium not found: install it with `apt-get install -y chromium`, or set CHROMIUM_PATH.",
    );
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ deviceScaleFactor: options.scale ?? 1 });
    const markup = svg.replace(/^<\?xml[^>]*>\s*/, "");
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:#fff">${markup}</body></html>`,
    );
    const box = await page.locator("svg").first().boundingBox();
    if (box === null) throw new Error("The SVG is not displayed.");
    await page.setViewportSize({
      width: Math.ceil(box.width),
      height: Math.ceil(box.height),
    });
    return await fn(page, box);
  } finally {
    await browser.close();
  }
}

/** Loads the SVG in headless Chromium and screenshots it as a PNG. */
export async function renderSvgInChromium(
  svg: string,
  options: { executablePath?: string; scale?: number } = {},
): Promise<SvgRendering> {
  return await withSvgPage(
    svg,
    async (page, box) => ({
      png: await page.locator("svg").first().screenshot({ type: "png" }),
      box,
    }),
    options,
  );
}

/** Width and height of a PNG, from its IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => png[i] === b)) throw new Error("Not a PNG.");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
