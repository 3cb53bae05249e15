// Umbrella header of the machine layer. Each concern has its own header.
#ifndef CTIMESLICE_H
#define CTIMESLICE_H
#include "ts_host.h"
#include "ts_context.h"
#include "ts_runtime.h"
#include "ts_preempt.h"
#include "ts_locks.h"
#include "ts_net.h"
#endif
