// extension: the one Disposable base — a class that owns resources registers them here and lets go of
// them all, newest first, when it is disposed.
import type * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  protected disposed = false;

  protected register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.owned.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    while (this.owned.length > 0) {
      try {
        this.owned.pop()?.dispose();
      } catch {
        // One failing dispose must not keep the others alive.
      }
    }
  }
}
