// check.hpp - a minimal test harness: TEST_CASE registers a function, CHECK
// records a failure and goes on, REQUIRE stops the case. The binary runs
// every case (or those named on the command line) and exits non-zero if
// any failed; tests/test_cpp.py drives it from pytest.
#pragma once

#include <o7s/error.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct test_case {
    const char* name;
    std::function<void()> body;
};

inline std::vector<test_case>& registry()
{
    static std::vector<test_case> cases;
    return cases;
}

inline int& failures()
{
    static int n = 0;
    return n;
}

struct registrar {
    registrar(const char* name, std::function<void()> body)
    {
        registry().push_back({name, std::move(body)});
    }
};

struct stop_case {};

inline void fail(const char* file, int line, const std::string& what, bool stop)
{
    std::fprintf(stderr, "  %s:%d: %s\n", file, line, what.c_str());
    ++failures();
    if (stop)
        throw stop_case{};
}

inline int run_all(int argc, char** argv)
{
    int failed_cases = 0;
    for (const auto& c : registry()) {
        bool wanted = argc < 2;
        for (int i = 1; i < argc; ++i)
            wanted = wanted || std::strcmp(argv[i], c.name) == 0;
        if (!wanted)
            continue;
        int before = failures();
        try {
            c.body();
        } catch (const stop_case&) {
        } catch (const std::exception& e) {
            std::fprintf(stderr, "  unexpected exception: %s\n", e.what());
            ++failures();
        }
        bool ok = failures() == before;
        failed_cases += ok ? 0 : 1;
        std::printf("%s %s\n", ok ? "PASS" : "FAIL", c.name);
    }
    std::printf("%d failed\n", failed_cases);
    return failed_cases == 0 ? 0 : 1;
}

} // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#define TEST_CASE(name)                                                                    \
    static void CHECK_CAT(test_fn_, __LINE__)();                                           \
    static check::registrar CHECK_CAT(test_reg_, __LINE__)(name, &CHECK_CAT(test_fn_, __LINE__)); \
    static void CHECK_CAT(test_fn_, __LINE__)()

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        if (!(expr))                                                                       \
            check::fail(__FILE__, __LINE__, "CHECK(" #expr ") failed", false);             \
    } while (0)

#define REQUIRE(expr)                                                                      \
    do {                                                                                   \
        if (!(expr))                                                                       \
            check::fail(__FILE__, __LINE__, "REQUIRE(" #expr ") failed", true);            \
    } while (0)

// Checks that expr throws ouroboros::error with errno `code`.
#define CHECK_THROWS_ERRNO(code, expr)                                                     \
    do {                                                                                   \
        try {                                                                              \
            expr;                                                                          \
            check::fail(__FILE__, __LINE__, #expr " did not throw", false);                \
        } catch (const ouroboros::error& e) {                                              \
            if (e.num() != (code))                                                         \
                check::fail(__FILE__, __LINE__,                                            \
                            #expr " threw errno " + std::to_string(e.num()) + " (" +       \
                                e.what() + "), expected " + std::to_string(code),          \
                            false);                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_MAIN                                                                         \
    int main(int argc, char** argv) { return check::run_all(argc, argv); }
