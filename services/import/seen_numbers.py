"""Which client numbers the batches stored so far hold, in a fixed 4 MiB whatever the file's length.

A repeated number is invalid after its first row, and earlier batches are already in the database,
which answers for them (memory stays flat). Asking it for every batch cost a fifth of a batch's
storing time, for files where almost no number repeats. This Bloom filter says "not seen" with
certainty, so only the numbers it cannot rule out are asked.
"""
BITS = 1 << 25   # 4 MiB: under 0.1% false "maybe" for a million numbers with three probes
PROBES = 3


class SeenNumbers:
    def __init__(self, bits: int = BITS):
        self.size = bits
        self.bits = bytearray(bits // 8)

    def _probes(self, number: str):
        first, step = hash(number), hash(number + "\x1f") | 1  # hashes of this process: the filter never leaves it
        return [(first + i * step) % self.size for i in range(PROBES)]

    def add(self, numbers) -> None:
        bits = self.bits
        for number in numbers:
            for probe in self._probes(number):
                bits[probe >> 3] |= 1 << (probe & 7)

    def may_hold(self, number: str) -> bool:
        bits = self.bits
        return all(bits[probe >> 3] & (1 << (probe & 7)) for probe in self._probes(number))
