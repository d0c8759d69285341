// o7s/o7s.hpp - the whole C++ API of pyOuroboros in one include.
#pragma once

#include <o7s/backend.hpp>
#include <o7s/error.hpp>
#include <o7s/flags.hpp>
#include <o7s/flow.hpp>
#include <o7s/flow_request.hpp>
#include <o7s/irm.hpp>
#include <o7s/qos.hpp>
#include <o7s/runtime_daemon.hpp>
#include <o7s/timeout.hpp>
#include <o7s/version.hpp>
