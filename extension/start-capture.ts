// extension: Start Capture's questions — backend, then the scenario, device or capture file, then the
// rules file and the impairment preset — as quick picks, skipping any the caller already answered.
import * as vscode from 'vscode';
import { DeviceRequestError, deviceStartRequest } from '../engine/backends/device-request';
import type { BackendName } from '../engine/protocol';
import { SCENARIOS } from '../engine/workloads/mixed';
import type { CaptureRequest } from './capture-controller';
import { IMPAIRMENT_PRESETS } from './impairments';
import { hasNetRaw, listDevices, mayAttach, suggestBypassAddress, type NetDevice } from './devices';
import { backendAllowed, readSettings } from './settings';

interface BackendItem extends vscode.QuickPickItem {
  readonly backend: BackendName;
}

const BACKEND_INFO: Record<BackendName, { label: string; detail: string }> = {
  sim: { label: 'sim', detail: 'A simulated network: the userspace stack and an emulated Linux kernel behind one NIC. No privileges; deterministic.' },
  lab: { label: 'lab', detail: 'The real Linux kernel on the kernel path, in a private user + network namespace with two TAP devices.' },
  tap: { label: 'tap', detail: 'Attach to a TAP device you made; the real kernel is behind it.' },
  afpacket: { label: 'afpacket', detail: 'Watch and steer on a real interface (needs CAP_NET_RAW).' },
  pcap: { label: 'pcap', detail: 'Replay a pcap or pcapng file through the rules and the dissectors.' },
};

/** Backends the running engine has (from its hello); all of them when it has not started yet. */
export type AvailableBackends = readonly BackendName[] | undefined;

/**
 * Asks what is missing from `given`; resolves undefined when the user cancels a question.
 * `available` marks backends this engine cannot run yet (they stay selectable: the engine says why).
 */
export async function askCaptureRequest(given: Partial<CaptureRequest>, available: AvailableBackends): Promise<CaptureRequest | undefined> {
  const settings = readSettings();
  const trusted = vscode.workspace.isTrusted;
  let backend = given.backend;
  if (backend === undefined) {
    const items: BackendItem[] = (['sim', 'lab', 'tap', 'afpacket', 'pcap'] as BackendName[]).map((b) => {
      const notes: string[] = [];
      if (b === settings.defaultBackend) notes.push('default');
      if (!backendAllowed(b, trusted)) notes.push('needs a trusted workspace');
      if (available !== undefined && !available.includes(b)) notes.push('not in this engine yet');
      return { backend: b, label: BACKEND_INFO[b].label, description: notes.join(' · '), detail: BACKEND_INFO[b].detail };
    });
    items.sort((a, b) => (a.backend === settings.defaultBackend ? -1 : b.backend === settings.defaultBackend ? 1 : 0));
    const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (1/4): backend', placeHolder: 'Where the packets come from', ignoreFocusOut: true });
    if (pick === undefined) return undefined;
    backend = pick.backend;
  }
  if (!backendAllowed(backend, trusted)) {
    // The controller refuses it too; say so before asking more.
    return { backend };
  }
  let { scenario, device, file } = given;
  if ((backend === 'sim' || backend === 'lab' || backend === 'tap') && scenario === undefined) {
    const items = SCENARIOS.map((s) => ({ label: s.name, description: s.name === settings.defaultScenario ? 'default' : '', detail: s.description }));
    items.sort((a, b) => (a.label === settings.defaultScenario ? -1 : b.label === settings.defaultScenario ? 1 : 0));
    const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (2/4): scenario', placeHolder: 'The traffic to run on both stacks', ignoreFocusOut: true });
    if (pick === undefined) return undefined;
    scenario = pick.label;
  }
  let address = given.address;
  if (backend === 'tap' || backend === 'afpacket') {
    const netns = given.networkNamespace ?? (settings.networkNamespace || undefined);
    let devices: NetDevice[] = [];
    if (device === undefined || (backend === 'afpacket' && address === undefined)) {
      try {
        devices = listDevices(netns);
      } catch (e) {
        void vscode.window.showErrorMessage(`Bypass Scope: ${(e as Error).message}`);
        return undefined;
      }
    }
    if (device === undefined) {
      device = await askDevice(backend, devices, netns);
      if (device === undefined) return undefined;
    }
    if (backend === 'afpacket' && address === undefined) {
      const dev = devices.find((d) => d.name === device);
      address = await askBypassAddress(device, dev);
      if (address === undefined) return undefined;
    }
  }
  if (backend === 'pcap' && file === undefined) {
    const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Replay', title: 'Replay Capture File', filters: { 'Packet captures': ['pcap', 'pcapng', 'cap'], 'All files': ['*'] } });
    if (uri === undefined || uri.length === 0) return undefined;
    file = uri[0].fsPath;
  }
  let rulesUri = given.rulesUri;
  if (!('rulesUri' in given)) {
    const picked = await askRulesFile(settings.defaultRulesFile);
    if (picked === null) return undefined;
    rulesUri = picked;
  }
  let impairment = given.impairment;
  if (impairment === undefined && given.impairments === undefined && backend !== 'pcap') {
    const pick = await vscode.window.showQuickPick(
      IMPAIRMENT_PRESETS.map((p) => ({ label: p.label, detail: p.detail, id: p.id })),
      { title: 'Start Capture (4/4): impairments on the wire', placeHolder: 'Loss, delay, reordering… applied on the wire side of the NIC', ignoreFocusOut: true },
    );
    if (pick === undefined) return undefined;
    impairment = pick.id;
  }
  return { ...given, backend, scenario, device, address, file, rulesUri, impairment };
}

type DeviceItem = vscode.QuickPickItem & { device?: string; other?: boolean };

/** tap: the TAP devices there, the user's first; afpacket: the interfaces with their addresses. */
async function askDevice(backend: 'tap' | 'afpacket', devices: readonly NetDevice[], netns: string | undefined): Promise<string | undefined> {
  const where = netns ? ` in network namespace ${netns}` : '';
  const items: DeviceItem[] = [];
  if (backend === 'tap') {
    const taps = devices.filter((d) => d.kind === 'tap');
    taps.sort((a, b) => Number(mayAttach(b)) - Number(mayAttach(a)));
    for (const d of taps) {
      const notes = [d.addresses.join(', ') || 'no IPv4 address on its kernel side', d.up ? '' : 'down', mayAttach(d) ? '' : `owned by ${d.owner ?? 'nobody'}: not yours to attach to`];
      items.push({ label: d.name, description: notes.filter(Boolean).join(' · '), device: d.name });
    }
    if (taps.length === 0) {
      items.push({ label: `No TAP device${where}`, description: 'make one: sudo ip tuntap add dev tap0 mode tap user $USER', kind: vscode.QuickPickItemKind.Separator });
    }
  } else {
    const raw = hasNetRaw();
    for (const d of devices.filter((x) => x.kind !== 'loopback')) {
      const notes = [d.kind, d.addresses.join(', '), d.up ? '' : 'down', raw ? '' : 'needs CAP_NET_RAW, which VS Code does not have'];
      items.push({ label: d.name, description: notes.filter(Boolean).join(' · '), device: d.name });
    }
  }
  items.push({ label: 'Another device…', description: 'type its name', other: true });
  const pick = await vscode.window.showQuickPick(items, {
    title: `Start Capture (2/4): ${backend === 'tap' ? 'TAP device' : 'interface'}${where}`,
    placeHolder: backend === 'tap' ? 'The TAP device to attach to (one you own)' : 'The interface to watch and steer on',
    ignoreFocusOut: true,
  });
  if (pick === undefined) return undefined;
  if (!pick.other) return pick.device;
  return vscode.window.showInputBox({
    title: 'Device name',
    prompt: backend === 'tap' ? 'A TAP device you own, e.g. tap0' : 'An interface, e.g. eth0',
    ignoreFocusOut: true,
    validateInput: (v) => checked({ backend, device: v, address: backend === 'afpacket' ? '0.0.0.0/1' : undefined }),
  });
}

/** afpacket: the bypass stack's own address on the interface's network (checked as the engine will). */
async function askBypassAddress(device: string, dev: NetDevice | undefined): Promise<string | undefined> {
  const suggested = dev === undefined ? undefined : suggestBypassAddress(dev);
  return vscode.window.showInputBox({
    title: `Start Capture (2/4): the bypass stack's address on ${device}`,
    prompt: `An address of its own on ${device}'s network${dev?.addresses.length ? ` (${dev.addresses.join(', ')})` : ''}, not the interface's: A.B.C.D/N`,
    value: suggested,
    ignoreFocusOut: true,
    validateInput: (v) => checked({ backend: 'afpacket', device, address: v }) ?? (dev?.addresses.some((a) => a.split('/')[0] === v.split('/')[0]) ? `${v.split('/')[0]} is ${device}'s own address: the bypass stack needs one of its own` : undefined),
  });
}

function checked(o: Parameters<typeof deviceStartRequest>[0]): string | undefined {
  try {
    deviceStartRequest(o);
    return undefined;
  } catch (e) {
    if (e instanceof DeviceRequestError) return e.message;
    throw e;
  }
}

/** The workspace's .bypass files, the built-in example rules, or another file: a URI string, undefined (built-in) or null (cancelled). */
/**
 * The workspace's .bypass files: VS Code's file search, and beside it the top of each workspace
 * folder read directly (the search can come back empty while it is still starting up).
 */
async function workspaceRulesFiles(): Promise<vscode.Uri[]> {
  const found = new Map<string, vscode.Uri>();
  for (const u of await vscode.workspace.findFiles('**/*.bypass', '**/node_modules/**', 50)) found.set(u.toString(), u);
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const entries = await Promise.resolve(vscode.workspace.fs.readDirectory(folder.uri)).catch(() => [] as [string, vscode.FileType][]);
    for (const [name, type] of entries) {
      if (type !== vscode.FileType.File || !name.endsWith('.bypass')) continue;
      const u = vscode.Uri.joinPath(folder.uri, name);
      found.set(u.toString(), u);
    }
  }
  return [...found.values()];
}

async function askRulesFile(defaultFile: string): Promise<string | undefined | null> {
  const found = await workspaceRulesFiles();
  type RulesItem = vscode.QuickPickItem & { uri?: string; browse?: boolean };
  const items: RulesItem[] = found
    .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
    .map((u) => ({ label: vscode.workspace.asRelativePath(u), description: defaultFile && u.fsPath.endsWith(defaultFile) ? 'default' : '', uri: u.toString() }));
  items.sort((a, b) => (a.description === 'default' ? -1 : b.description === 'default' ? 1 : 0));
  items.push({ label: 'Built-in example rules', description: 'the extension\'s examples/routing.bypass', uri: undefined });
  items.push({ label: 'Another file…', browse: true });
  const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (3/4): routing rules', placeHolder: 'Which .bypass file steers the packets', ignoreFocusOut: true });
  if (pick === undefined) return null;
  if (pick.browse) {
    const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use these rules', filters: { 'Routing rules': ['bypass'], 'All files': ['*'] } });
    return uri?.[0]?.toString() ?? null;
  }
  return pick.uri;
}

