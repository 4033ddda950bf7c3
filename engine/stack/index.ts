// stack: the public surface of the userspace IPv4 stack and its Node-style socket API.

export { Ipv4Stack, trimSack, type LinkDevice, type StackOptions, type SendResult, type DeferredTask, type UdpEndpoint, type EchoReply } from './stack';
export { StackCounters, packetIdCounter, dropVerdict, type Layer, type Direction, type Verdict, type RxDropReason, type TxDropReason, type StackObserver, type PacketIdSource } from './observe';
export { NeighbourCache, DEFAULT_NEIGHBOUR_CONFIG, type NeighbourConfig, type NeighbourState } from './neighbour';
export { Reassembler, DEFAULT_REASSEMBLY_CONFIG, type ReassemblyConfig } from './reassembly';
export { IcmpRateLimiter, DEFAULT_ICMP_LIMIT, type IcmpLimitConfig } from './icmp-limit';
export { TcpTable, tupleHash, type TcpEntry, type TcpOwner } from './tcp-table';
export { UdpSocket, createSocket, udpError, ERRNO, type UdpSocketOptions, type RemoteInfo, type AddressInfo } from './udp';
export { Socket, Server, connect, createConnection, createServer, netError, type SocketOptions, type TcpConnectOptions, type ServerOptions } from './net';
