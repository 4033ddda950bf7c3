// webview/client: the webview's side of the message protocol — the VS Code API handle, requests with
// ids and a timeout, and the host's notifications handed to one handler after their guard passed.
import {
  REQUEST_TIMEOUT_MS,
  isCaptureState,
  isConnection,
  isReset,
  isResponse,
  isSelect,
  isStats,
  isStep,
  isOpenConnection,
  isExtent,
  isTraceBatch,
  type HostMessage,
  type RequestResults,
  type ResponseMessage,
  type WebviewMessage,
  type WebviewRequest,
} from './protocol';

export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

type Pending = { resolve: (r: ResponseMessage) => void; timer: ReturnType<typeof setTimeout> };

export class HostClient {
  readonly api: VsCodeApi;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(onNotification: (m: Exclude<HostMessage, ResponseMessage>) => void) {
    this.api = acquireVsCodeApi();
    window.addEventListener('message', (e: MessageEvent) => {
      const m: unknown = e.data;
      if (isResponse(m)) {
        const p = this.pending.get(m.id);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(m.id);
          p.resolve(m);
        }
        return;
      }
      if (isTraceBatch(m) || isConnection(m) || isStats(m) || isCaptureState(m) || isSelect(m) || isStep(m) || isOpenConnection(m) || isExtent(m) || isReset(m)) onNotification(m);
    });
  }

  notify(m: Exclude<WebviewMessage, WebviewRequest>): void {
    this.api.postMessage(m);
  }

  /** Sends a request; rejects when the host answers with an error or not within the timeout. */
  request<T extends WebviewRequest['type']>(type: T, params: Omit<Extract<WebviewRequest, { type: T }>, 'type' | 'id'>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RequestResults[T]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        timer,
        resolve: (r) => (r.ok ? resolve(r.result as RequestResults[T]) : reject(new Error(r.error ?? `${type} failed`))),
      });
      this.api.postMessage({ type, id, ...params } as unknown as WebviewRequest);
    });
  }
}
