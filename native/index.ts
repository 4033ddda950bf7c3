// native: the only place that knows C struct layouts — koffi bindings (loaded lazily) for TUN/TAP,
// AF_PACKET with recvmmsg/sendmmsg and cBPF, epoll with an eventfd, and network namespaces.
// Imported by engine/backends alone. Frames are read into and sent from engine-owned buffers; no view
// over foreign memory (an external ArrayBuffer, which Electron forbids) is ever made.
export { libc, NativeError, NativeUnavailableError, type Libc } from './libc';
export {
  emptyVnetHeader,
  openTap,
  readVnetHeader,
  tapCreateCommand,
  TapIo,
  VNET_HDR_LEN,
  VnetFlag,
  VnetGso,
  writeVnetHeader,
  type TapHandle,
  type TapOpenOptions,
  type VnetHeader,
} from './tap';
export { interfaceIndex, interfaceMac, interfaceMtu } from './iface';
export { Poller } from './epoll';
export { PacketSocket, RxFlag, NET_RAW_ADVICE, type PacketSocketOptions, type SockFilterInsn } from './packet';
export { NetNamespace, closeFd } from './netns';
