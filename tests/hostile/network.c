/* A hostile case against the network: WASI preview 1 has no call that opens a socket, but
 * a module may import Wasmer's WASIX extension (`wasix_32v1`), which has. This one asks
 * for a TCP socket and connects to the test's listener on 127.0.0.1:PORT, then writes to
 * it. Exit 0 when nothing got through; a runtime without WASIX refuses to instantiate it.
 * The test also checks its listener saw no connection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("wasix_32v1"), import_name("sock_open")))
int32_t wasix_sock_open(int32_t family, int32_t type, int32_t protocol, int32_t *fd);
__attribute__((import_module("wasix_32v1"), import_name("sock_connect")))
int32_t wasix_sock_connect(int32_t fd, const uint8_t *address);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int32_t wasi_fd_write(int32_t fd, const void *iovs, int32_t count, int32_t *written);

int main(void) {
    const char *port_text = getenv("PORT");
    int port = port_text ? atoi(port_text) : 0, through = 0;
    /* __wasi_addr_port_t: a family byte, then the port (native order) and the address;
     * newer WASIX puts a padding byte before them, older does not: try both */
    for (int at = 1; at <= 2; at++) {
        int32_t fd = -1;
        int32_t err = wasix_sock_open(1 /* inet4 */, 1 /* stream */, 0, &fd);
        printf("sock_open: errno %d, fd %d\n", err, fd);
        if (err != 0) continue;
        uint8_t address[40] = {1};
        address[at] = (uint8_t)(port & 0xff);
        address[at + 1] = (uint8_t)(port >> 8);
        address[at + 2] = 127;
        address[at + 5] = 1;
        err = wasix_sock_connect(fd, address);
        printf("sock_connect (address at %d): errno %d\n", at, err);
        if (err != 0) continue;
        struct { const void *data; uint32_t size; } iov = {"HELLO\n", 6};
        int32_t written = 0;
        err = wasi_fd_write(fd, &iov, 1, &written);
        printf("OPENED: connected, wrote %d bytes (errno %d)\n", written, err);
        through++;
    }
    return through;
}
