#include "ts_host.h"
