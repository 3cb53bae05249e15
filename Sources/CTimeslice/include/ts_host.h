// Thin shims for host facts that Swift cannot reach directly (cpu_set_t macros, getcpu).
#ifndef TS_HOST_H
#define TS_HOST_H
#include <stdint.h>
#include <stddef.h>
#endif
