// A bare fan-out: the same bytes sent to N loopback TCP connections, one send(2) each, at a
// number of updates per second; the sender's own CPU per send (getrusage) is the "bare send"
// that ringmcp's resource-update fan-out is rated against (issue 15, goal 6). bench/fanout.sh
// builds and runs it (cc -O2), with the receiving side in a second process on the other CPU.
//
//   fanout_bare send PORT N UPDATES_PER_SEC WARMUP_S SECONDS BYTES
//       listen on 127.0.0.1:PORT, accept N connections, then send BYTES bytes (a line) to each
//       connection per update; prints one JSON line with the CPU per send over SECONDS after
//       WARMUP_S.
//   fanout_bare recv PORT N
//       connect N connections to 127.0.0.1:PORT and read (epoll) until the peer closes.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(double *user, double *sys) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    *user = r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6;
    *sys = r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

static struct sockaddr_in addr_of(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int do_send(int port, int n, double rate, double warmup, double secs, int bytes) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of(port);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4096)) {
        perror("bind/listen");
        return 1;
    }
    int *fds = calloc(n, sizeof *fds);
    for (int i = 0; i < n; i++) {
        fds[i] = accept(l, NULL, NULL);
        if (fds[i] < 0) {
            perror("accept");
            return 1;
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char *msg = malloc(bytes);
    memset(msg, 'x', bytes);
    msg[bytes - 1] = '\n';
    double start = now(), next = start, begin = start + warmup, end = begin + secs;
    double u0 = 0, s0 = 0, c0 = -1, u1, s1, c1;
    long sends = 0, failed = 0;
    for (;;) {
        double t = now();
        if (c0 < 0 && t >= begin) c0 = cpu(&u0, &s0);
        if (t >= end) break;
        if (t < next) {
            struct timespec d = {0, (long)((next - t) * 1e9)};
            nanosleep(&d, NULL);
            continue;
        }
        next += 1.0 / rate;
        for (int i = 0; i < n; i++) {
            if (send(fds[i], msg, bytes, MSG_DONTWAIT | MSG_NOSIGNAL) != bytes) failed++;
            else if (c0 >= 0) sends++;
        }
    }
    c1 = cpu(&u1, &s1);
    printf("{\"impl\":\"bare send(2)\",\"listeners\":%d,\"updates_per_sec\":%g,\"bytes\":%d,\"sends\":%ld,"
           "\"failed\":%ld,\"cpu_us_per_send\":%.3f,\"user_us_per_send\":%.3f,\"sys_us_per_send\":%.3f}\n",
           n, rate, bytes, sends, failed, (c1 - c0) * 1e6 / sends, (u1 - u0) * 1e6 / sends,
           (s1 - s0) * 1e6 / sends);
    return 0;
}

static int do_recv(int port, int n) {
    int ep = epoll_create1(0);
    struct sockaddr_in a = addr_of(port);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
            perror("connect");
            return 1;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }
    static char buf[65536];
    struct epoll_event evs[1024];
    int open = n;
    while (open > 0) {
        int k = epoll_wait(ep, evs, 1024, -1);
        for (int i = 0; i < k; i++) {
            ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
            if (r <= 0) {
                close(evs[i].data.fd);
                open--;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "send"))
        return do_send(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]), atof(argv[6]),
                       atoi(argv[7]));
    if (argc == 4 && !strcmp(argv[1], "recv")) return do_recv(atoi(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: fanout_bare send PORT N UPDATES_PER_SEC WARMUP_S SECONDS BYTES | recv PORT N\n");
    return 2;
}
