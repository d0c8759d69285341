// ouroboros_c.hpp - the parts of Ouroboros' C API that compile as C++
// (dev.h, fccntl.h, fqueue.h, qos.h, errno.h). irm.h does not (its static
// initialisers are not valid C++), so the IRM calls go through irm_shim.c.
#pragma once

#include "o7s_system_config.h"

#include <ouroboros/dev.h>
#include <ouroboros/errno.h>
#include <ouroboros/fccntl.h>
#include <ouroboros/fqueue.h>
#include <ouroboros/qos.h>
#include <ouroboros/version.h>
