// System calls of the netpoller (Timeslice/Netpoller.swift) and of goroutine
// sockets (Timeslice/Net/). Machine-layer convention: every function returns 0
// or a positive errno (never relies on the caller reading `errno`), values come
// back through out-parameters, and EINTR is retried inside where retrying is
// correct. Every descriptor is created O_NONBLOCK | O_CLOEXEC.
#ifndef TS_NET_H
#define TS_NET_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One epoll event as the netpoller reads it: the registration's 64-bit tag and
/// the EPOLL* bits that fired, folded into the two directions.
typedef struct ts_poll_event {
    uint64_t tag;
    uint32_t readable;   // EPOLLIN, EPOLLRDHUP, EPOLLHUP or EPOLLERR
    uint32_t writable;   // EPOLLOUT, EPOLLHUP or EPOLLERR
} ts_poll_event;

/// epoll_create1(EPOLL_CLOEXEC).
int ts_epoll_create(int *epfd);
/// Registers `fd` once for input, output and peer hang-up with `tag` as its
/// event data: edge-triggered (sockets) when `edge_triggered`, else level-
/// triggered for input only (the netpoller's eventfd).
int ts_epoll_register(int epfd, int fd, uint64_t tag, int edge_triggered);
/// Waits for up to `capacity` events. `timeout_ns` < 0 waits forever, 0 polls.
/// Uses epoll_pwait2 (ns resolution) where the kernel has it, else epoll_wait
/// with the timeout rounded up to whole milliseconds. EINTR returns 0 events.
int ts_epoll_wait(int epfd, ts_poll_event *events, int capacity, int64_t timeout_ns, int *count);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC): the netpoller's interrupt.
int ts_eventfd_create(int *fd);
/// Adds 1 to the eventfd (EAGAIN, a full counter, counts as success: it is readable).
int ts_eventfd_signal(int fd);
/// Reads (resets) the eventfd counter; EAGAIN (already reset) counts as success.
int ts_eventfd_drain(int fd);

/// A TCP socket (AF_INET when `ipv6` is 0, else AF_INET6), SOCK_NONBLOCK |
/// SOCK_CLOEXEC, with TCP_NODELAY on.
int ts_tcp_socket(int ipv6, int *fd);
/// Parses a numeric IPv4 or IPv6 address (`host`) into `address` (a
/// sockaddr_storage's worth of bytes, at least 128) with `port`, and its length.
/// EINVAL when `host` is not a numeric address. *ipv6 tells the family.
int ts_socket_address(const char *host, uint16_t port, void *address, uint32_t *length, int *ipv6);
/// A UDP socket (AF_INET when `ipv6` is 0, else AF_INET6), SOCK_NONBLOCK | SOCK_CLOEXEC.
int ts_udp_socket(int ipv6, int *fd);
/// bind(2) alone (UDP; no SO_REUSEADDR, so two sockets never share a port).
int ts_socket_bind(int fd, const void *address, uint32_t length);
/// SO_REUSEADDR, bind and listen.
int ts_tcp_bind_listen(int fd, const void *address, uint32_t length, int backlog);
/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), then TCP_NODELAY on the new socket.
/// EAGAIN when no connection is pending.
int ts_tcp_accept(int fd, int *connection);
/// connect(2). TCP: EINPROGRESS when it completes later (then ts_socket_error);
/// UDP: sets the default peer at once.
int ts_socket_connect(int fd, const void *address, uint32_t length);
/// getsockopt(SO_ERROR): the pending error of the socket (0 for none) into *error.
int ts_socket_error(int fd, int *error);
/// read(2): *count bytes read (0 at end of file). EAGAIN when nothing is buffered.
int ts_socket_read(int fd, void *buffer, size_t length, size_t *count);
/// send(2) with MSG_NOSIGNAL (a reset peer is EPIPE, not SIGPIPE): *count bytes
/// taken, possibly fewer than `length`. EAGAIN when the send buffer is full.
int ts_socket_write(int fd, const void *buffer, size_t length, size_t *count);
/// recvfrom(2) of one datagram with MSG_TRUNC: *count is the datagram's whole
/// length, more than `length` when the rest was cut off (and discarded). The
/// sender's sockaddr goes to `sender`, *sender_length bytes of room in, its length
/// out. EAGAIN when no datagram is queued; a connected socket's pending ICMP
/// error (ECONNREFUSED).
int ts_udp_receive(int fd, void *buffer, size_t length, size_t *count, void *sender, uint32_t *sender_length);
/// sendto(2) of one datagram to `address` (whole or not at all). EAGAIN when the
/// send buffer is full; EMSGSIZE when it is too long for UDP.
int ts_udp_send(int fd, const void *buffer, size_t length, const void *address, uint32_t address_length);
/// shutdown(SHUT_WR).
int ts_socket_shutdown_write(int fd);
/// The port of getsockname (local = 1) or getpeername (local = 0), and the
/// numeric address text (at least 64 bytes) of the same call.
int ts_socket_name(int fd, int local, uint16_t *port, char *text, size_t text_capacity);
/// The port and numeric address text (at least 64 bytes) of a sockaddr_in or
/// sockaddr_in6; EAFNOSUPPORT for another family.
int ts_socket_address_text(const void *address, uint16_t *port, char *text, size_t text_capacity);
/// close(2). EINTR is not retried (Linux has closed the descriptor already).
int ts_close(int fd);

#ifdef __cplusplus
}
#endif
#endif
