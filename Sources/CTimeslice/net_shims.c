// Netpoller and socket shims (see ts_net.h): epoll, eventfd and the TCP and
// UDP calls of Timeslice/Net. Each returns 0 or a positive errno.
#define _GNU_SOURCE
#include "ts_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

int ts_epoll_create(int *epfd) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return errno;
    *epfd = fd;
    return 0;
}

int ts_epoll_register(int epfd, int fd, uint64_t tag, int edge_triggered) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = edge_triggered ? (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) : EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

// 1 once epoll_pwait2 answered ENOSYS (kernels before 5.11).
static int ts_epoll_pwait2_missing;

int ts_epoll_wait(int epfd, ts_poll_event *events, int capacity, int64_t timeout_ns, int *count) {
    struct epoll_event raw[128];
    if (capacity > 128) capacity = 128;
    int n = -1;
    if (!__atomic_load_n(&ts_epoll_pwait2_missing, __ATOMIC_RELAXED)) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        n = (int)syscall(SYS_epoll_pwait2, epfd, raw, capacity, tsp, NULL, (size_t)0);
        if (n < 0 && errno == ENOSYS) __atomic_store_n(&ts_epoll_pwait2_missing, 1, __ATOMIC_RELAXED);
    }
    if (n < 0 && __atomic_load_n(&ts_epoll_pwait2_missing, __ATOMIC_RELAXED)) {
        int ms = -1;
        if (timeout_ns >= 0) {
            int64_t rounded = (timeout_ns + 999999) / 1000000;
            ms = rounded > INT32_MAX ? INT32_MAX : (int)rounded;
        }
        n = epoll_wait(epfd, raw, capacity, ms);
    }
    if (n < 0) {
        if (errno == EINTR) { *count = 0; return 0; }
        return errno;
    }
    for (int i = 0; i < n; i++) {
        uint32_t e = raw[i].events;
        events[i].tag = raw[i].data.u64;
        events[i].readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        events[i].writable = (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
    }
    *count = n;
    return 0;
}

int ts_eventfd_create(int *fd) {
    int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e < 0) return errno;
    *fd = e;
    return 0;
}

int ts_eventfd_signal(int fd) {
    uint64_t one = 1;
    for (;;) {
        if (write(fd, &one, sizeof one) == (ssize_t)sizeof one) return 0;
        if (errno == EINTR) continue;
        return errno == EAGAIN ? 0 : errno;
    }
}

int ts_eventfd_drain(int fd) {
    uint64_t value;
    for (;;) {
        if (read(fd, &value, sizeof value) == (ssize_t)sizeof value) return 0;
        if (errno == EINTR) continue;
        return errno == EAGAIN ? 0 : errno;
    }
}

int ts_socket_address_text(const void *address, uint16_t *port, char *text, size_t text_capacity) {
    const struct sockaddr *generic = (const struct sockaddr *)address;
    if (generic->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        *port = ntohs(v4->sin_port);
        if (inet_ntop(AF_INET, &v4->sin_addr, text, (socklen_t)text_capacity) == NULL) return errno;
    } else if (generic->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        *port = ntohs(v6->sin6_port);
        if (inet_ntop(AF_INET6, &v6->sin6_addr, text, (socklen_t)text_capacity) == NULL) return errno;
    } else {
        return EAFNOSUPPORT;
    }
    return 0;
}

static int ts_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? 0 : errno;
}

static int ts_open_socket(int ipv6, int type, int *fd) {
    int s = socket(ipv6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    *fd = s;
    return 0;
}

int ts_tcp_socket(int ipv6, int *fd) {
    int s;
    int rc = ts_open_socket(ipv6, SOCK_STREAM, &s);
    if (rc != 0) return rc;
    rc = ts_set_nodelay(s);
    if (rc != 0) { close(s); return rc; }
    *fd = s;
    return 0;
}

int ts_udp_socket(int ipv6, int *fd) {
    return ts_open_socket(ipv6, SOCK_DGRAM, fd);
}

int ts_socket_address(const char *host, uint16_t port, void *address, uint32_t *length, int *ipv6) {
    struct sockaddr_storage storage;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    memset(&storage, 0, sizeof storage);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *length = sizeof *v4;
    } else {
        memset(&storage, 0, sizeof storage);
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1) return EINVAL;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *length = sizeof *v6;
    }
    *ipv6 = storage.ss_family == AF_INET6;
    memcpy(address, &storage, *length);
    return 0;
}

int ts_tcp_bind_listen(int fd, const void *address, uint32_t length, int backlog) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return errno;
    if (bind(fd, (const struct sockaddr *)address, length) != 0) return errno;
    if (listen(fd, backlog) != 0) return errno;
    return 0;
}

int ts_socket_bind(int fd, const void *address, uint32_t length) {
    return bind(fd, (const struct sockaddr *)address, length) == 0 ? 0 : errno;
}

int ts_tcp_accept(int fd, int *connection) {
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            int rc = ts_set_nodelay(c);
            if (rc != 0) { close(c); return rc; }
            *connection = c;
            return 0;
        }
        // A connection reset while queued: try the next one.
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return errno;
    }
}

int ts_socket_connect(int fd, const void *address, uint32_t length) {
    if (connect(fd, (const struct sockaddr *)address, length) == 0) return 0;
    // An interrupted connect goes on asynchronously, like EINPROGRESS.
    return errno == EINTR ? EINPROGRESS : errno;
}

int ts_socket_error(int fd, int *error) {
    int value = 0;
    socklen_t size = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &size) != 0) return errno;
    *error = value;
    return 0;
}

int ts_socket_read(int fd, void *buffer, size_t length, size_t *count) {
    for (;;) {
        ssize_t n = read(fd, buffer, length);
        if (n >= 0) { *count = (size_t)n; return 0; }
        if (errno == EINTR) continue;
        return errno;
    }
}

int ts_socket_write(int fd, const void *buffer, size_t length, size_t *count) {
    for (;;) {
        ssize_t n = send(fd, buffer, length, MSG_NOSIGNAL);
        if (n >= 0) { *count = (size_t)n; return 0; }
        if (errno == EINTR) continue;
        return errno;
    }
}

int ts_udp_receive(int fd, void *buffer, size_t length, size_t *count, void *sender, uint32_t *sender_length) {
    for (;;) {
        socklen_t size = *sender_length;
        // MSG_TRUNC: the datagram's real length, even when longer than `length`.
        ssize_t n = recvfrom(fd, buffer, length, MSG_TRUNC, (struct sockaddr *)sender, &size);
        if (n >= 0) {
            *count = (size_t)n;
            *sender_length = size;
            return 0;
        }
        if (errno == EINTR) continue;
        return errno;
    }
}

int ts_udp_send(int fd, const void *buffer, size_t length, const void *address, uint32_t address_length) {
    for (;;) {
        ssize_t n = sendto(fd, buffer, length, MSG_NOSIGNAL, (const struct sockaddr *)address, address_length);
        // A datagram goes whole or not at all.
        if (n >= 0) return 0;
        if (errno == EINTR) continue;
        return errno;
    }
}

int ts_socket_shutdown_write(int fd) {
    return shutdown(fd, SHUT_WR) == 0 ? 0 : errno;
}

int ts_socket_name(int fd, int local, uint16_t *port, char *text, size_t text_capacity) {
    struct sockaddr_storage address;
    socklen_t size = sizeof address;
    int rc = local ? getsockname(fd, (struct sockaddr *)&address, &size)
                   : getpeername(fd, (struct sockaddr *)&address, &size);
    if (rc != 0) return errno;
    return ts_socket_address_text(&address, port, text, text_capacity);
}

int ts_close(int fd) {
    return close(fd) == 0 ? 0 : errno;
}
