import type { HostToWebview, RequestMap, RequestType, RowQuery, WebviewToHost } from '../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** What the panel remembers across reloads (no secrets, no dataset text beyond the search box). */
export interface PanelState {
  readonly query?: RowQuery;
  readonly selectedId?: string;
  readonly scrollTop?: number;
  readonly target?: string;
  readonly summaryOpen?: boolean;
  readonly agreementOpen?: boolean;
  /** Each model's output text in the grid (the Outputs toggle). */
  readonly showOutputs?: boolean;
  /** Column widths in pixels the user dragged, per dataset file (most recent files only). */
  readonly columnWidths?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The webview's end of the typed protocol: requests by id, pushed messages to a listener. */
export class HostBridge {
  private readonly api: VsCodeApi = acquireVsCodeApi();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly onPush: (message: Exclude<HostToWebview, { type: 'response' }>) => void) {
    window.addEventListener('message', (event: MessageEvent<HostToWebview>) => this.receive(event.data));
  }

  request<K extends RequestType>(type: K, params: RequestMap[K]['params']): Promise<RequestMap[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ type, id, params } as WebviewToHost);
    });
  }

  post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  getState(): PanelState {
    const state = this.api.getState();
    return state && typeof state === 'object' ? (state as PanelState) : {};
  }

  setState(state: PanelState): void {
    this.api.setState(state);
  }

  private receive(message: HostToWebview): void {
    if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
    if (message.type === 'response') {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(message.error));
      return;
    }
    this.onPush(message);
  }
}
