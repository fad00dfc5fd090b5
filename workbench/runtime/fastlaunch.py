"""Launch a ``@workbench.jit`` kernel for a fraction of what ``kernel[grid]()`` costs, with
every check Triton makes.

Most of a Triton launch is Python around the compiled launcher: the binder builds a dict of
every argument and specializes each one, the specialization and the options become a string
key, the launcher is reached through a Python wrapper that allocates scratch, and empty hook
chains are called twice. Here one C function (built by the compiler and the build cache
Triton builds its own launchers with) turns the arguments into a key that is at least as fine
as Triton's specialization: per argument Triton specializes, the same facts Triton's
``native_specialize_impl`` reads (exact type; for an int its i32/i64/u64 range, == 1 and
16-divisibility; for a tensor its dtype and the 16-byte alignment of its data pointer; None),
and for a constexpr or an option its type and value. Equal keys therefore mean equal Triton
cache keys. A key seen before gives the kernel that Triton's cache holds for it (looked up
again on every launch, so whatever empties Triton's cache makes the next launch go through
Triton) and the argument order; a new key, or an argument of a type the C function does not
know, goes through Triton's own ``run``, which compiles, refuses or raises exactly as Triton
does, and the launch it made is remembered; so do pre-run hooks, and every launch while
something wraps ``JITFunction.run`` (the runner's capture). Launch hooks, profile scratch and
global scratch take Triton's launcher path; with no hook set, the launcher is called with no
hooks, as an empty hook chain would do nothing. A positional CUDA tensor goes to the launcher
as the data pointer the fingerprint read (the launcher would call ``data_ptr()`` and
``cuPointerGetAttribute`` for it again; for device memory that gives the same pointer); any
other tensor goes as it is, for the launcher to check. Opted in (``workbench.runtime.launcher``),
the launcher of a remembered launch is the workbench's own, with every check above unchanged.
"""

from __future__ import annotations

import functools

_SOURCE = r"""
#include <Python.h>
#include <stdint.h>

static PyObject *dtype_name, *data_ptr_name, *is_cuda_name;
static PyTypeObject *tensor_types[8];
static getter dtype_getters[8], is_cuda_getters[8];
static void *dtype_closures[8], *is_cuda_closures[8];
static int n_tensor_types = 0;
#define MAX_DTYPES 64
#define VALUE 1     /* a constexpr: by type and value */
#define NO_VALUE 2  /* do_not_specialize */
#define NO_ALIGN 3  /* do_not_specialize_on_alignment */
static PyObject *dtypes[MAX_DTYPES];
static int n_dtypes = 0;

static int dtype_index(PyObject *dtype) {
  for (int i = 0; i < n_dtypes; i++)
    if (dtypes[i] == dtype) return i;
  if (n_dtypes == MAX_DTYPES) return -1;
  Py_INCREF(dtype);  /* kept: its address is its index */
  dtypes[n_dtypes] = dtype;
  return n_dtypes++;
}

/* The key element of an argument Triton specializes. NULL with no error set: a type this
   function does not know (the caller takes Triton's path). */
static PyObject *spec_code(PyObject *arg, char mode, PyObject **pointer) {
  PyTypeObject *type = Py_TYPE(arg);
  /* what Triton reads of an int: == 1 (unless do_not_specialize), divisibility by 16 (unless
     do_not_specialize or do_not_specialize_on_alignment), and its range */
  int want_one = mode != NO_VALUE, want_div = mode == 0;
  if (type == &PyLong_Type) {
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (v == -1 && PyErr_Occurred()) return NULL;
    if (overflow == 0)
      return PyLong_FromLong(0x10 | (want_one && v == 1) | ((want_div && (v & 15) == 0) << 1) |
                             ((v >= INT32_MIN && v <= INT32_MAX) << 2));
    unsigned long long u = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) { PyErr_Clear(); return NULL; }  /* Triton raises: let it */
    return PyLong_FromLong(0x20 | ((want_div && (u & 15) == 0) << 1));
  }
  if (type == &PyBool_Type) return PyLong_FromLong(0x30);
  if (type == &PyFloat_Type) return PyLong_FromLong(0x40);
  if (arg == Py_None) return PyLong_FromLong(0x50);
  for (int i = 0; i < n_tensor_types; i++) {
    if (type != tensor_types[i]) continue;
    PyObject *dtype = dtype_getters[i] ? dtype_getters[i](arg, dtype_closures[i]) : PyObject_GetAttr(arg, dtype_name);
    if (!dtype) return NULL;
    int index = dtype_index(dtype);
    Py_DECREF(dtype);
    if (index < 0) return NULL;
    PyObject *ptr = PyObject_CallMethodNoArgs(arg, data_ptr_name);
    if (!ptr) return NULL;
    unsigned long long p = PyLong_AsUnsignedLongLong(ptr);
    if (PyErr_Occurred()) { Py_DECREF(ptr); return NULL; }
    if (pointer) {
      /* A CUDA tensor's data pointer is the device pointer Triton's launcher would look up for
         it (cuPointerGetAttribute); any other tensor goes to the launcher, which checks it. */
      PyObject *cuda = is_cuda_getters[i] ? is_cuda_getters[i](arg, is_cuda_closures[i])
                                          : PyObject_GetAttr(arg, is_cuda_name);
      if (!cuda) { Py_DECREF(ptr); return NULL; }
      if (cuda == Py_True) { *pointer = ptr; ptr = NULL; }
      Py_DECREF(cuda);
    }
    Py_XDECREF(ptr);
    return PyLong_FromLong(0x60 + 2 * index + (want_div && (p & 15) == 0));  /* < 256: a cached int */
  }
  return NULL;
}

/* A value: an int or a str as itself, anything else as its type then itself (1, True and
   1.0 are equal in Python, not to Triton). A type object never equals an int or a str, so
   the key still reads one way only. */
static void put_value(PyObject *key, Py_ssize_t *n, PyObject *value) {
  PyTypeObject *type = Py_TYPE(value);
  if (type == &PyLong_Type || type == &PyUnicode_Type) {
    Py_INCREF(value);
    PyTuple_SET_ITEM(key, (*n)++, value);
    return;
  }
  Py_INCREF(Py_TYPE(value));
  PyTuple_SET_ITEM(key, (*n)++, (PyObject *)Py_TYPE(value));
  Py_INCREF(value);
  PyTuple_SET_ITEM(key, (*n)++, value);
}

static int put_spec(PyObject *key, Py_ssize_t *n, PyObject *arg, char mode, PyObject **pointer) {
  PyObject *code = spec_code(arg, mode, pointer);
  if (!code) return -1;
  PyTuple_SET_ITEM(key, (*n)++, code);
  return 0;
}

/* fingerprint(flags, kwflags, args, kwargs, *prefix): (key, the positional arguments for the
   launcher) or None.
   flags[i] is how parameter i is keyed (0, VALUE, NO_VALUE, NO_ALIGN); kwflags maps a
   parameter name to the same; any other keyword is an option, keyed by value. */
static PyObject *fingerprint(PyObject *self, PyObject *const *a, Py_ssize_t nargs_) {
  if (nargs_ < 4) {
    PyErr_SetString(PyExc_TypeError, "fingerprint(flags, kwflags, args, kwargs, *prefix)");
    return NULL;
  }
  PyObject *flags = a[0], *kwflags = a[1], *args = a[2], *kwargs = a[3];
  Py_ssize_t nargs = PyTuple_GET_SIZE(args), nflags = PyBytes_GET_SIZE(flags);
  Py_ssize_t nkw = PyDict_GET_SIZE(kwargs), nprefix = nargs_ - 4;
  if (nargs > nflags) Py_RETURN_NONE;
  const char *f = PyBytes_AS_STRING(flags);
  PyObject *key = PyTuple_New(nprefix + 1 + 2 * nargs + 3 * nkw);
  if (!key) return NULL;
  Py_ssize_t n = 0;
  for (Py_ssize_t i = 0; i < nprefix; i++) { Py_INCREF(a[4 + i]); PyTuple_SET_ITEM(key, n++, a[4 + i]); }
  PyTuple_SET_ITEM(key, n++, PyLong_FromSsize_t(nargs));
  PyObject *launch_args = NULL;  /* args with each CUDA tensor as its data pointer */
  for (Py_ssize_t i = 0; i < nargs; i++) {
    PyObject *arg = PyTuple_GET_ITEM(args, i), *pointer = NULL;
    if (f[i] == VALUE) put_value(key, &n, arg);
    else if (put_spec(key, &n, arg, f[i], &pointer) < 0) goto unknown;
    if (pointer) {
      if (!launch_args) {  /* a new tuple (a whole slice of a tuple is the tuple itself) */
        launch_args = PyTuple_New(nargs);
        if (!launch_args) { Py_DECREF(pointer); goto unknown; }
        for (Py_ssize_t j = 0; j < nargs; j++) {
          Py_INCREF(PyTuple_GET_ITEM(args, j));
          PyTuple_SET_ITEM(launch_args, j, PyTuple_GET_ITEM(args, j));
        }
      }
      Py_DECREF(PyTuple_GET_ITEM(launch_args, i));
      PyTuple_SET_ITEM(launch_args, i, pointer);
    }
  }
  Py_ssize_t pos = 0;
  PyObject *name, *value;
  while (PyDict_Next(kwargs, &pos, &name, &value)) {
    Py_INCREF(name);
    PyTuple_SET_ITEM(key, n++, name);
    PyObject *flag = PyDict_GetItemWithError(kwflags, name);
    if (!flag && PyErr_Occurred()) goto unknown;
    long mode = flag ? PyLong_AsLong(flag) : VALUE;
    if (mode == VALUE) put_value(key, &n, value);
    else if (put_spec(key, &n, value, (char)mode, NULL) < 0) goto unknown;
  }
  for (Py_ssize_t i = n; i < PyTuple_GET_SIZE(key); i++) { Py_INCREF(Py_None); PyTuple_SET_ITEM(key, i, Py_None); }
  if (_PyTuple_Resize(&key, n) < 0) { Py_XDECREF(launch_args); return NULL; }
  if (!launch_args) { Py_INCREF(args); launch_args = args; }
  PyObject *both = PyTuple_Pack(2, key, launch_args);
  Py_DECREF(key);
  Py_DECREF(launch_args);
  return both;
unknown:
  for (Py_ssize_t i = n; i < PyTuple_GET_SIZE(key); i++) { Py_INCREF(Py_None); PyTuple_SET_ITEM(key, i, Py_None); }
  Py_DECREF(key);
  Py_XDECREF(launch_args);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* A data descriptor of the class (an instance cannot shadow it) whose getter can be called
   directly; none where the class has its own attribute lookup. */
static void find_getter(PyTypeObject *type, PyObject *name, getter *get, void **closure) {
  PyObject *d = _PyType_Lookup(type, name);
  *get = NULL;
  if (d && Py_TYPE(d) == &PyGetSetDescr_Type && type->tp_getattro == PyObject_GenericGetAttr) {
    *get = ((PyGetSetDescrObject *)d)->d_getset->get;
    *closure = ((PyGetSetDescrObject *)d)->d_getset->closure;
  }
}

/* set_tensor_types(types): the exact classes whose dtype and data_ptr() Triton reads. */
static PyObject *set_tensor_types(PyObject *self, PyObject *types) {
  if (!PyTuple_Check(types) || PyTuple_GET_SIZE(types) > 8) {
    PyErr_SetString(PyExc_TypeError, "a tuple of at most 8 types");
    return NULL;
  }
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(types); i++) {
    PyObject *t = PyTuple_GET_ITEM(types, i);
    if (!PyType_Check(t)) { PyErr_SetString(PyExc_TypeError, "not a type"); return NULL; }
    Py_INCREF(t);
    tensor_types[i] = (PyTypeObject *)t;
    find_getter((PyTypeObject *)t, dtype_name, &dtype_getters[i], &dtype_closures[i]);
    find_getter((PyTypeObject *)t, is_cuda_name, &is_cuda_getters[i], &is_cuda_closures[i]);
  }
  n_tensor_types = (int)PyTuple_GET_SIZE(types);
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
  {"fingerprint", (PyCFunction)(void (*)(void))fingerprint, METH_FASTCALL, NULL},
  {"set_tensor_types", set_tensor_types, METH_O, NULL},
  {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "__workbench_fingerprint", NULL, -1, methods};

PyMODINIT_FUNC PyInit___workbench_fingerprint(void) {
  dtype_name = PyUnicode_InternFromString("dtype");
  data_ptr_name = PyUnicode_InternFromString("data_ptr");
  is_cuda_name = PyUnicode_InternFromString("is_cuda");
  if (!dtype_name || !data_ptr_name || !is_cuda_name) return NULL;
  return PyModule_Create(&module);
}
"""


@functools.lru_cache(maxsize=None)
def native():
    """The C fingerprint module, built once per machine into Triton's build cache."""
    import torch
    from triton.runtime.build import compile_module_from_src
    mod = compile_module_from_src(_SOURCE, "__workbench_fingerprint")
    mod.set_tensor_types((torch.Tensor, torch.nn.Parameter))
    return mod


class FastLaunch:
    """The launch path of one JITFunction: ``fast.bind(grid)(*args, **kwargs)`` is
    ``fn[grid](*args, **kwargs)``."""

    def __init__(self, fn) -> None:
        from triton import knobs
        from triton.runtime.driver import driver
        from workbench.runtime.launcher import chosen
        self.fn = fn
        self.own = chosen(fn)  # remembered launches through the own launcher
        self.entries: dict[tuple, tuple] = {}
        self.defaults = {p.name: p.default for p in fn.params if p.has_default}
        self._runtime, self._compilation = knobs.runtime, knobs.compilation
        # the driver whose current device is read through torch's C call (see _entry), and that call
        self._device = [None, None]
        self._tritons_run = [None]  # Triton's own JITFunction.run, once seen unwrapped
        self.bind = self._binder(driver, knobs.runtime, knobs.compilation, getattr(knobs, "HookChain", None))

    def _binder(self, driver, runtime, compilation, chain):
        """``bind(grid)``: the launch function for one grid. Everything a launch reads is a
        local of these closures: a launch is one Python frame."""
        fn, entries, resolved, through_triton = self.fn, self.entries, self._device, self._through_triton
        cls, tritons = type(fn), self._tritons_run
        kwflags = {p.name: key_mode(p) for p in fn.params}
        flags = bytes(kwflags.values())
        fingerprint = native().fingerprint

        last = [(None, None)]  # the grid bound last and its launch: `kernel[grid]` in a loop binds once

        def bind(grid):
            was, launch = last[0]  # one tuple: a thread binding another grid swaps it whole
            if grid is was:
                return launch
            n = len(grid) if type(grid) is tuple else 0
            dims = (grid[0], grid[1] if n > 1 else 1, grid[2] if n > 2 else 1) if n else None

            def launch(*args, **kwargs):
                active = driver.active
                device = resolved[1]() if active is resolved[0] else active.get_current_device()
                found = fingerprint(flags, kwflags, args, kwargs, device, fn.debug, runtime.debug,
                                    compilation.instrumentation_mode)
                key, pointers = found if found is not None else (None, args)
                try:
                    hit = entries.get(key)
                except TypeError:  # an unhashable constexpr or option: Triton says what it makes of it
                    return fn.run(*args, grid=grid, warmup=False, **kwargs)
                if hit is None or fn.pre_run_hooks or cls.run is not tritons[0]:  # (wrapped: the runner's capture)
                    return through_triton(grid, args, kwargs, key, device)
                tkey, kernel, direct, function, packed, coop, pdl, pick, fill, own = hit
                if fn.device_caches[device][0].get(tkey) is not kernel:  # Triton's cache changed under us
                    entries.pop(key, None)
                    return through_triton(grid, args, kwargs, key, device)
                if fn.used_global_vals:
                    _check_globals(fn)
                stream = active.get_current_stream(device)
                enter, leave = runtime.launch_enter_hook, runtime.launch_exit_hook
                idle = (enter is None or (type(enter) is chain and not enter.calls)) and \
                    (leave is None or (type(leave) is chain and not leave.calls))
                # the parameters after the positional ones, in order (defaults filled in)
                rest = kwargs.values() if pick is None else pick(kwargs if fill is None else kwargs | fill)
                if idle and direct is not None and dims is not None:
                    direct(*dims, stream, function, coop, pdl, None, None, packed, None, None, None, *pointers, *rest)
                    return kernel
                bound = args + tuple(rest)
                g = grid(dict(zip(fn.arg_names, bound))) if callable(grid) else grid
                size = len(g)
                g0, g1, g2 = g[0], g[1] if size > 1 else 1, g[2] if size > 2 else 1
                if idle and direct is not None:
                    direct(g0, g1, g2, stream, function, coop, pdl, None, None, packed, None, None, None,
                           *pointers, *bound[len(args):])
                else:
                    (kernel.run if own is None else own)(g0, g1, g2, stream, function, packed,
                                                         kernel.launch_metadata(g, stream, *bound), enter, leave,
                                                         *bound)
                return kernel
            if n:
                last[0] = grid, launch
            return launch
        return bind

    def _through_triton(self, grid, args: tuple, kwargs: dict, key, device):
        """Triton's own launch (compile, refuse, raise: all Triton's), then remember it."""
        fn = self.fn
        run = type(fn).run
        if run.__module__ == "triton.runtime.jit":
            self._tritons_run[0] = run
        kernel = fn.run(*args, grid=grid, warmup=False, **kwargs)
        # (while the runner's capture wraps Triton's run, the kernel's launcher is the capture's:
        # nothing is remembered then, and what was remembered before serves again after it)
        if key is not None and kernel is not None and not hasattr(kernel, "result") and not fn.pre_run_hooks \
                and run is self._tritons_run[0]:
            entry = self._entry(args, kwargs, device, kernel)
            if entry is not None:
                self.entries[key] = entry
        return kernel

    def _entry(self, args: tuple, kwargs: dict, device, kernel) -> tuple | None:
        """What a launch with this key needs, found as Triton's ``run`` finds it."""
        import torch
        from triton.backends.nvidia.driver import CudaLauncher
        from triton.runtime.driver import driver
        from triton.runtime.jit import compute_cache_key
        fn = self.fn
        kernel_cache, key_cache, _, _, binder = fn.device_caches[device]
        kw = dict(kwargs)
        kw["debug"] = kw.get("debug", fn.debug) or self._runtime.debug
        kw["instrumentation_mode"] = self._compilation.instrumentation_mode
        _, specialization, options = binder(*args, **kw)
        tkey = compute_cache_key(key_cache, specialization, options)
        if kernel_cache.get(tkey) is not kernel:
            return None
        active = driver.active
        if active.get_current_device is getattr(torch.cuda, "current_device", None) and torch.cuda.is_initialized():
            # torch.cuda.current_device() is _lazy_init() (done: this kernel launched) + this call
            self._device[:] = [active, torch._C._cuda_getDevice]
        launcher = kernel.run
        cuda = type(launcher) is CudaLauncher
        own = None
        if self.own and cuda:
            from workbench.runtime.launcher import OwnLauncher
            own = launcher = OwnLauncher(kernel.src, kernel.metadata)
        direct = cuda and not launcher.global_scratch_size and not launcher.profile_scratch_size
        pick, fill = _picker(fn.arg_names[len(args):], kwargs, self.defaults)
        return (tkey, kernel, launcher.launch if direct else None, kernel.function,
                kernel.packed_metadata if own is None else own.packed,
                launcher.launch_cooperative_grid if direct else None, launcher.launch_pdl if direct else None,
                pick, fill, own)


def _picker(names: list[str], kwargs: dict, defaults: dict):
    """How a launch with these keywords gets the parameters ``names`` in order: None where
    the keywords are exactly those (``kwargs.values()``), else a getter over the keywords
    merged with ``fill``, the defaults of the names this call shape leaves out (Triton's binder
    refused a call that left out one with no default). The fingerprint holds the keyword
    names in order, so every launch of an entry has the same shape."""
    import operator
    if list(kwargs) == list(names):
        return None, None
    fill = {n: defaults[n] for n in names if n not in kwargs} or None
    if len(names) == 1:
        name = names[0]
        return (lambda kw: (kw[name],)), fill
    return (operator.itemgetter(*names) if names else (lambda kw: ())), fill


def key_mode(param) -> int:
    """How the fingerprint keys a parameter: what Triton's binder specializes it on."""
    if param.is_constexpr:
        return 1
    return 2 if param.do_not_specialize else 3 if param.do_not_specialize_on_alignment else 0


def _check_globals(fn) -> None:
    """Triton's check that the globals a kernel was compiled with have not changed."""
    missing = object()
    for (name, _), (val, globals_dict) in fn.used_global_vals.items():
        if (new := globals_dict.get(name, missing)) != val:
            raise RuntimeError(f"Global variable {name} has changed since we compiled this kernel, from {val} to {new}")
