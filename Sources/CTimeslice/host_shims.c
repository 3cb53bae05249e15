// Host shims: cpu_set_t handling, getcpu and NUMA memory policy for
// TimesliceHost. Each call reports failure as a returned errno (see ts_host.h).
#define _GNU_SOURCE
#include "ts_host.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

// The kernel's cpumask can be wider than glibc's fixed 1024-bit cpu_set_t;
// sched_getaffinity fails with EINVAL when our mask is narrower than the
// kernel's nr_cpu_ids, so grow until it fits.
#define TS_MAX_CPUS_TRIED (1 << 20)

int ts_sched_getaffinity(int tid, int *cpus, int capacity, int *count) {
    for (int ncpus = 1024; ncpus <= TS_MAX_CPUS_TRIED; ncpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpus);
        if (set == NULL) return ENOMEM;
        size_t size = CPU_ALLOC_SIZE(ncpus);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity((pid_t)tid, size, set) != 0) {
            int err = errno;
            CPU_FREE(set);
            if (err == EINVAL) continue;
            return err;
        }
        int n = 0;
        for (int cpu = 0; cpu < ncpus; cpu++) {
            if (CPU_ISSET_S(cpu, size, set)) {
                if (n < capacity) cpus[n] = cpu;
                n++;
            }
        }
        CPU_FREE(set);
        *count = n;
        return 0;
    }
    return EINVAL;
}

int ts_sched_setaffinity(int tid, const int *cpus, int count) {
    if (count <= 0) return EINVAL;
    int highest = 0;
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0) return EINVAL;
        if (cpus[i] > highest) highest = cpus[i];
    }
    cpu_set_t *set = CPU_ALLOC(highest + 1);
    if (set == NULL) return ENOMEM;
    size_t size = CPU_ALLOC_SIZE(highest + 1);
    CPU_ZERO_S(size, set);
    for (int i = 0; i < count; i++) CPU_SET_S(cpus[i], size, set);
    int rc = sched_setaffinity((pid_t)tid, size, set);
    int err = rc == 0 ? 0 : errno;
    CPU_FREE(set);
    return err;
}

int ts_getcpu(unsigned *cpu, unsigned *node) {
    // The raw syscall rather than glibc's getcpu() wrapper, which only exists
    // since glibc 2.29; both end in the vDSO-backed syscall.
    if (syscall(SYS_getcpu, cpu, node, NULL) != 0) return errno;
    return 0;
}

int ts_host_gettid(void) { return (int)syscall(SYS_gettid); }

int ts_host_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0UL, 0UL, 0UL) == 0 ? 0 : errno;
}

int ts_host_futex_wait_once(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
    long r = syscall(SYS_futex, word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, timeout_ns >= 0 ? &ts : NULL, NULL, 0);
    return r == 0 ? 0 : errno;
}

int ts_host_futex_wake(uint32_t *word, int count) {
    return syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0) < 0 ? errno : 0;
}

int ts_host_timer_slack(unsigned long *nanoseconds) {
    int rc = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    if (rc < 0) return errno;
    *nanoseconds = (unsigned long)rc;
    return 0;
}

int ts_numa_available(void) { return numa_available(); }

int ts_numa_max_node(void) {
    if (numa_available() < 0) return -1;
    return numa_max_node();
}

int ts_mbind_node(void *addr, unsigned long len, int node, int strict) {
    // 1024 node bits covers every shipping kernel's MAX_NUMNODES; mbind's
    // maxnode counts one past the last bit (the kernel decrements it).
    enum { NODE_BITS = 1024, BITS_PER_LONG = 8 * sizeof(unsigned long) };
    unsigned long mask[NODE_BITS / BITS_PER_LONG];
    if (node < 0 || node >= NODE_BITS) return EINVAL;
    memset(mask, 0, sizeof mask);
    mask[node / BITS_PER_LONG] = 1UL << (node % BITS_PER_LONG);
    int mode = strict ? MPOL_BIND : MPOL_PREFERRED;
    if (mbind(addr, len, mode, mask, NODE_BITS + 1, MPOL_MF_MOVE) != 0) return errno;
    return 0;
}

int ts_move_pages_query(unsigned long count, void **pages, int *status) {
    // libnuma's move_pages() returns -1 and sets errno on failure.
    if (move_pages(0, count, pages, NULL, status, 0) != 0) return errno;
    return 0;
}

int ts_cpuid_hypervisor(char *buf, size_t len) {
    if (len > 0) buf[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 31))) return 0;
    // The hypervisor leaves are outside __get_cpuid's range check, so use the
    // raw instruction; any CPU with the hypervisor bit implements 0x40000000.
    __cpuid(0x40000000, a, b, c, d);
    char vendor[13];
    memcpy(vendor + 0, &b, 4);
    memcpy(vendor + 4, &c, 4);
    memcpy(vendor + 8, &d, 4);
    vendor[12] = '\0';
    if (len > 0) {
        strncpy(buf, vendor, len - 1);
        buf[len - 1] = '\0';
    }
    return 1;
#else
    (void)buf;
    return 0;
#endif
}
