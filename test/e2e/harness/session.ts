import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { FakeOpenAIServer, type FakeOpenAIOptions } from '../../support/openaiServer';
import { Workbench } from '../pages/workbench';
import { CodeServer } from './codeServer';
import { chromiumPath, resultsDir, sampleDataset, scratchRoot, tinyModel } from './paths';

export interface FakeModel {
  /** The name results are stored under. */
  readonly name: string;
  /** The model id sent to the fake server. */
  readonly model: string;
  /** Its price per million tokens (the summary's and the judge's cost). */
  readonly price?: { readonly inputPerMillion: number; readonly outputPerMillion: number };
}

export interface SessionOptions {
  /** Names the scratch folder and the screenshots. */
  readonly name: string;
  /** Files to write into the workspace, by relative path. */
  readonly files?: Readonly<Record<string, string>>;
  /** Copy the sample dataset (and its images) into the workspace as `pisar-sample.jsonl` (default true). */
  readonly sample?: boolean;
  /** The fake OpenAI server's options; `false` for none. */
  readonly server?: FakeOpenAIOptions | false;
  /** Models configured in the workspace, all pointing at the fake server. */
  readonly models?: readonly FakeModel[];
  /** More workspace settings. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Open the folder with workspace trust enabled and the folder not trusted (default: trust disabled). */
  readonly untrusted?: boolean;
}

export const defaultModels: readonly FakeModel[] = [
  { name: 'ft-qwen', model: 'ft-qwen3-vl-8b' },
  { name: 'gpt', model: 'gpt-4o' },
];

/** Chromium flags for a quiet, offline, sandbox-less headless run as root. */
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/**
 * One spec's world: a workspace folder, a fake OpenAI server on 127.0.0.1, code-server with a fresh
 * profile and the packaged extension, and a Chromium page on its workbench.
 */
/** XDG_CONFIG_HOME before each open session set it to its editor's (restored as sessions close). */
const sessionConfigHome: (string | undefined)[] = [];

function restoreConfigHome(): void {
  if (sessionConfigHome.length === 0) return;
  const previous = sessionConfigHome.pop();
  if (previous === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = previous;
}

export class Session {
  /** The sessions open now, latest last (for the screenshot of a failed test: see hooks.ts). */
  static readonly open: Session[] = [];

  /** Dialogs (alert/confirm) opened by any frame: a hostile row must never cause one. */
  readonly dialogs: string[] = [];

  private constructor(
    readonly name: string,
    readonly root: string,
    readonly workspace: string,
    readonly userDataDir: string,
    readonly server: FakeOpenAIServer | undefined,
    readonly codeServer: CodeServer,
    readonly browser: Browser,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly workbench: Workbench,
  ) {}

  static async start(options: SessionOptions): Promise<Session> {
    const root = path.join(scratchRoot, `${options.name}-${process.pid}-${Date.now().toString(36)}`);
    const workspace = path.join(root, 'workspace');
    const userDataDir = path.join(root, 'profile');
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });

    if (options.sample !== false) {
      fs.copyFileSync(sampleDataset, path.join(workspace, 'pisar-sample.jsonl'));
      const images = path.join(path.dirname(sampleDataset), 'images');
      if (fs.existsSync(images)) fs.cpSync(images, path.join(workspace, 'images'), { recursive: true });
    }
    for (const [rel, text] of Object.entries(options.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }

    const server = options.server === false ? undefined : await FakeOpenAIServer.start(options.server ?? {});
    const models = server ? (options.models ?? defaultModels).map((m) => ({ name: m.name, baseUrl: server.url, model: m.model, concurrency: 2, timeoutMs: 10_000, ...(m.price ? { price: m.price } : {}) })) : [];
    const settings = {
      'pisarReview.models': models,
      'pisarReview.embedding.model': tinyModel,
      ...options.settings,
    };
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));

    let codeServer: CodeServer | undefined;
    let browser: Browser | undefined;
    try {
      const homeDir = path.join(root, 'home');
      codeServer = await CodeServer.start({ userDataDir, homeDir, workspaceTrust: options.untrusted === true });
      // The CLI a spec runs (harness/cli.ts) is the same user on the same machine as this editor: it reads the
      // installation key that signs results scored here from the editor's config home, or every result the
      // editor scored would read as "from the file" (src/core/store/provenance.ts).
      sessionConfigHome.push(process.env.XDG_CONFIG_HOME);
      process.env.XDG_CONFIG_HOME = codeServer.configHome;
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      const page = await context.newPage();
      const workbench = new Workbench(page);
      const session = new Session(options.name, root, workspace, userDataDir, server, codeServer, browser, context, page, workbench);
      page.on('dialog', (dialog) => {
        session.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss().catch(() => undefined);
      });
      await page.goto(codeServer.urlFor(workspace));
      await workbench.waitReady();
      Session.open.push(session);
      return session;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await codeServer?.stop();
      await server?.close();
      if (codeServer) restoreConfigHome();
      throw err;
    }
  }

  /** Saves a screenshot of the whole workbench as test-results/<session>-<step>.png. */
  async screenshot(step: string): Promise<string> {
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${this.name}-${step}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Every file under a folder, recursively (for scans of what the extension wrote). */
  static filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) out.push(...Session.filesUnder(full));
      else if (entry.isFile()) out.push(full);
    }
    return out;
  }

  async close(): Promise<void> {
    const at = Session.open.indexOf(this);
    if (at >= 0) Session.open.splice(at, 1);
    await this.browser.close().catch(() => undefined);
    await this.codeServer.stop();
    await this.server?.close();
    restoreConfigHome();
  }
}
