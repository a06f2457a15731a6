#!/usr/bin/env python3
# Posterizes a truecolour PNG to 5-6-5 bits (like a 16-bit display) and re-encodes it with the Up filter and
# zlib level 9, so committed screenshots stay small (tools/screenshots.sh): python3 tools/png_small.py FILE...
import struct, sys, zlib
def chunks(data):
    pos = 8
    while pos < len(data):
        n, = struct.unpack('>I', data[pos:pos+4]); yield data[pos+4:pos+8], data[pos+8:pos+8+n]; pos += 12 + n
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    cs = list(chunks(data)); ihdr = cs[0][1]
    w, h, depth, ctype = struct.unpack('>IIBB', ihdr[:10])
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b''.join(b for k, b in cs if k == b'IDAT'))
    stride = w * bpp; prev = bytearray(stride); out_rows = []; pos = 0
    mask = bytes([0xF8, 0xFC, 0xF8, 0xFF][:bpp]) * w
    for y in range(h):
        f = raw[pos]; row = bytearray(raw[pos+1:pos+1+stride]); pos += 1 + stride
        if f == 1:
            for i in range(bpp, stride): row[i] = (row[i] + row[i-bpp]) & 255
        elif f == 2:
            row = bytearray((a + b) & 255 for a, b in zip(row, prev))
        elif f == 3:
            for i in range(stride): row[i] = (row[i] + ((row[i-bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = row[i-bpp] if i >= bpp else 0; b = prev[i]; c = prev[i-bpp] if i >= bpp else 0
                p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = row
        out_rows.append(bytes(x & m for x, m in zip(row, mask)))
    enc = bytearray(); last = bytes(stride)
    for r in out_rows:  # Up filter (whole-row subtraction is fast and suits UI pictures)
        enc.append(2); enc += bytes((a - b) & 255 for a, b in zip(r, last)); last = r
    out = b'\x89PNG\r\n\x1a\n'
    for kind, body in [(b'IHDR', ihdr), (b'IDAT', zlib.compress(bytes(enc), 9)), (b'IEND', b'')]:
        out += struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    open(path, 'wb').write(out); print(path, len(data), '->', len(out))
