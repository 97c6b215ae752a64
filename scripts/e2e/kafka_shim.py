"""Loopback TCP relay between Java kafka-clients 4.x (Kafka Connect) and the librdkafka mock broker.

Two things keep the Java client from talking to the mock directly, and this relay fixes exactly those:
  * ApiVersions v3+: the mock answers it with an error response the Java client misreads (as a long throttle).
    The relay forwards such a request as v2 (non-flexible, no body) and re-encodes the v2 answer in the v3 layout
    the client expects (compact array, a tagged-field byte after each entry and at the end).
  * Metadata and FindCoordinator answers name the mock's own port, so the client would bypass the relay on its
    next connection. In those answers the relay replaces "<host><port>" with "<host><relay port>".
Every other frame (produce, fetch, offsets...) is relayed unchanged.

usage: python kafka_shim.py MOCK_HOST:PORT ADDRFILE PIDFILE [WATCH_PID]   (exits when WATCH_PID is gone)
"""
import asyncio
import os
import struct
import sys

API_METADATA, API_FIND_COORDINATOR, API_VERSIONS = 3, 10, 18


def uvarint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def downgrade_api_versions(frame):
    """An ApiVersions v3+ request (header v2) -> the same request as v2 (header v1, empty body)."""
    correlation = frame[4:8]
    (client_id_len,) = struct.unpack(">h", frame[8:10])
    client_id = frame[8:10 + max(client_id_len, 0)]
    return struct.pack(">hh", API_VERSIONS, 2) + correlation + client_id


def upgrade_api_versions_answer(frame):
    """An ApiVersions v2 answer -> the v3 layout (response header v0, flexible body)."""
    correlation, error, count = struct.unpack(">ihi", frame[:10])
    out = bytearray(struct.pack(">ih", correlation, error))
    out += uvarint(count + 1)
    entries = frame[10:10 + 6 * count]
    for i in range(count):
        out += entries[6 * i:6 * i + 6] + b"\x00"
    throttle = frame[10 + 6 * count:14 + 6 * count] or b"\x00\x00\x00\x00"
    return bytes(out + throttle + b"\x00")


class Relay:
    def __init__(self, mock_host, mock_port):
        self.mock_host, self.mock_port = mock_host, mock_port
        self.own_port = None

    def rewrite_ports(self, frame):
        host = self.mock_host.encode()
        return frame.replace(host + struct.pack(">i", self.mock_port), host + struct.pack(">i", self.own_port))

    async def serve_client(self, client_reader, client_writer):
        try:
            broker_reader, broker_writer = await asyncio.open_connection(self.mock_host, self.mock_port)
        except OSError:
            client_writer.close()
            return
        pending = {}  # correlation id -> (api key, version asked by the client)

        def on_request(frame):
            key, version, correlation = struct.unpack(">hhi", frame[:8])
            pending[correlation] = (key, version)
            if key == API_VERSIONS and version >= 3:
                return downgrade_api_versions(frame)
            return frame

        def on_answer(frame):
            (correlation,) = struct.unpack(">i", frame[:4])
            key, version = pending.pop(correlation, (None, None))
            if key == API_VERSIONS and version >= 3:
                return upgrade_api_versions_answer(frame)
            if key in (API_METADATA, API_FIND_COORDINATOR):
                return self.rewrite_ports(frame)
            return frame

        async def relay(reader, writer, transform):
            try:
                while True:
                    (size,) = struct.unpack(">i", await reader.readexactly(4))
                    frame = transform(await reader.readexactly(size))
                    writer.write(struct.pack(">i", len(frame)) + frame)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(relay(client_reader, broker_writer, on_request),
                             relay(broker_reader, client_writer, on_answer))


async def main(mock, addr_file, pid_file, watch_pid):
    host, port = mock.rsplit(":", 1)
    relay = Relay(host, int(port))
    server = await asyncio.start_server(relay.serve_client, "127.0.0.1", 0)
    relay.own_port = server.sockets[0].getsockname()[1]
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    with open(addr_file + ".tmp", "w") as f:
        f.write(f"127.0.0.1:{relay.own_port}\n")
    os.replace(addr_file + ".tmp", addr_file)
    while True:
        await asyncio.sleep(1)
        if watch_pid:
            try:
                os.kill(watch_pid, 0)
            except ProcessLookupError:
                return


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else 0))
    except KeyboardInterrupt:
        pass
