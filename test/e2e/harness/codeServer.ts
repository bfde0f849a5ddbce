import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { codeServerBin, extensionsDir, node24Bin } from './paths';

export interface CodeServerOptions {
  /** Throw-away profile (settings, state, SecretStorage, logs). */
  readonly userDataDir: string;
  /** Where code-server writes its config and XDG dirs, so nothing lands in $HOME. */
  readonly homeDir: string;
  /** Enable workspace trust; folders opened are then untrusted (no prompt) until trusted by hand. Default off. */
  readonly workspaceTrust?: boolean;
}

/** Profile settings that turn workspace trust on without the startup prompt, leaving folders untrusted. */
export const untrustedUserSettings = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
  'security.workspace.trust.untrustedFiles': 'open',
} as const;

/** Settings of the test profile: quiet, offline, trusted, and nothing opening on its own. */
export const testUserSettings = {
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.panel.defaultLocation': 'bottom',
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
  'editor.minimap.enabled': false,
  'editor.wordWrap': 'off',
  'files.autoSave': 'off',
  'git.enabled': false,
  'npm.autoDetect': 'off',
} as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A code-server process on 127.0.0.1 with no auth, a throw-away profile and the packaged extension. */
function configHome(homeDir: string): string {
  return path.join(homeDir, 'config');
}

export class CodeServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
    /** The XDG_CONFIG_HOME the editor runs with (its user's config: the installation key that signs results lives there). */
    readonly configHome: string,
  ) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The workbench URL with `folder` open. */
  urlFor(folder: string): string {
    return `${this.origin}/?folder=${encodeURIComponent(folder)}`;
  }

  static async start(options: CodeServerOptions): Promise<CodeServer> {
    const settingsDir = path.join(options.userDataDir, 'User');
    fs.mkdirSync(settingsDir, { recursive: true });
    fs.mkdirSync(options.homeDir, { recursive: true });
    const settingsFile = path.join(settingsDir, 'settings.json');
    const userSettings = options.workspaceTrust ? { ...testUserSettings, ...untrustedUserSettings } : testUserSettings;
    if (!fs.existsSync(settingsFile)) fs.writeFileSync(settingsFile, JSON.stringify(userSettings, null, 2));
    const configFile = path.join(options.homeDir, 'config.yaml');
    fs.writeFileSync(configFile, 'auth: none\ncert: false\n');

    const port = await freePort();
    const logFile = path.join(options.homeDir, 'code-server.log');
    const log = fs.openSync(logFile, 'a');
    const args = [
      '--config', configFile,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--user-data-dir', options.userDataDir,
      '--extensions-dir', extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ];
    const child = spawn(codeServerBin, args, {
      env: {
        ...process.env,
        PATH: `${node24Bin}${path.delimiter}${process.env.PATH ?? ''}`,
        XDG_CONFIG_HOME: configHome(options.homeDir),
        XDG_DATA_HOME: path.join(options.homeDir, 'data'),
        XDG_CACHE_HOME: path.join(options.homeDir, 'cache'),
        ONNXRUNTIME_NODE_INSTALL: 'skip',
      },
      stdio: ['ignore', log, log],
      detached: true,
    });
    fs.closeSync(log);
    const server = new CodeServer(child, port, logFile, configHome(options.homeDir));
    await server.waitHealthy(60_000);
    return server;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`code-server exited with ${this.child.exitCode}; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.origin}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`code-server did not answer on ${this.origin} within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Pids of this code-server's extension host processes (its process group, `--type=extensionHost`). */
  extensionHostPids(): number[] {
    const pgid = this.child.pid;
    const pids: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Fields after the command's closing paren: state ppid pgrp ...
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) !== pgid) continue;
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (cmdline.includes('--type=extensionHost')) pids.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return pids;
  }

  /** Ends code-server and its extension hosts (its own process group). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
}
