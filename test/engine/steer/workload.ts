// test support: rule files and traffic for measuring the steer classifier.

/** A rule file with `count` rules of the kinds real files hold: port and host rules, ranges, a few generic ones. */
export function ruleFile(count: number): string {
  const lines = ['default kernel'];
  for (let i = 0; lines.length <= count; i++) {
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        lines.push(`bypass tcp dst port ${10000 + i} and dst host 198.18.${(i >> 8) & 255}.${i & 255}`);
        break;
      case 6:
      case 7:
        lines.push(`kernel udp dst portrange ${20000 + i * 10}-${20000 + i * 10 + 9}`);
        break;
      case 8:
        lines.push(`drop src host 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
        break;
      default:
        lines.push(i % 100 === 9 ? `kernel tcp[tcpflags] & tcp-rst != 0 and len > ${1000 + i}` : `bypass ip6 and udp port ${30000 + i}`);
    }
  }
  return lines.join('\n');
}

function frame(bytes: number[], len = 64): Uint8Array {
  const f = new Uint8Array(Math.max(len, bytes.length));
  f.set(bytes);
  return f;
}

/** `n` Ethernet frames: TCP and UDP to ports the rules name (and others), ARP and IPv6. */
export function traffic(n: number, seed = 1): Uint8Array[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rand() * 1200);
    const kind = rand();
    const eth = [0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
    if (kind < 0.6) {
      const dport = 10000 + i;
      out.push(frame([...eth, 0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, (i >> 8) & 255, i & 255, 198, 18, (i >> 8) & 255, i & 255,
        0x9c, 0x40, dport >> 8, dport & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]));
    } else if (kind < 0.85) {
      const dport = 20000 + i * 10 + (i % 10);
      out.push(frame([...eth, 0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 2, 3, 198, 19, 0, 1,
        0x9c, 0x41, (dport >> 8) & 255, dport & 255, 0, 8, 0, 0]));
    } else if (kind < 0.95) {
      const port = 30000 + i;
      out.push(frame([...eth, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64, ...new Array(32).fill(1), 0x75, 0x30, port >> 8, port & 255, 0, 8, 0, 0], 70));
    } else {
      out.push(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, ...new Array(6).fill(0x66), 10, 0, 0, i & 255, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]));
    }
  }
  return out;
}
