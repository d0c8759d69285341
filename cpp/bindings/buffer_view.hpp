// buffer_view.hpp - a Python object's buffer (the buffer protocol), held
// for the length of one call: while it is held, the object cannot resize
// or free the memory (a bytearray refuses to), so reads may fill it with
// the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>

namespace ouroboros::python {

namespace py = pybind11;

class buffer_view {
public:
    // `flags` as for PyObject_GetBuffer(); `what` names the argument in
    // the errors.
    buffer_view(py::handle obj, int flags, const char* what)
    {
        if (PyUnicode_Check(obj.ptr()))
            throw py::type_error(std::string(what) +
                                 " needs a bytes-like object, not str; encode the text "
                                 "(e.g. text.encode()) or use writeline()");
        if (PyObject_GetBuffer(obj.ptr(), &view_, flags) != 0)
            throw py::error_already_set();
    }
    ~buffer_view() { PyBuffer_Release(&view_); }
    buffer_view(const buffer_view&) = delete;
    buffer_view& operator=(const buffer_view&) = delete;

    char* data() const { return static_cast<char*>(view_.buf); }
    std::size_t size() const { return static_cast<std::size_t>(view_.len); }
    // What the exporter said about the memory (format, strides, read-only),
    // as far as `flags` asked.
    const Py_buffer& info() const { return view_; }

private:
    Py_buffer view_{};
};

} // namespace ouroboros::python
