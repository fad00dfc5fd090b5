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
``kernel[grid]`` with a tuple grid is a C callable (``bound``) that makes every check of the
Python launch itself, reading the same objects, and calls the launcher's C function with the
arguments in a C array: a remembered launch enters no Python function (with torch's C device
and stream getters); whatever it does not take is the Python launch's, with the same arguments.
"""

from __future__ import annotations

import functools

_SOURCE = r"""
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The key of a launch: the prefix, the number of positional arguments, each positional
   argument as flags[i] says, then each keyword's name and value (kwflags maps a parameter name
   to its flag; any other keyword is an option, keyed by value). NULL with no error set: an
   argument this function does not know (the caller takes Triton's path). pointers[i] (set to
   NULL by the caller) gets the data pointer of a positional CUDA tensor: a new reference the
   caller releases (none are left on NULL). */
static PyObject *make_key(const char *f, Py_ssize_t nflags, PyObject *kwflags, PyObject *const *args,
                          Py_ssize_t nargs, PyObject *const *kwnames, PyObject *const *kwvalues, Py_ssize_t nkw,
                          PyObject *const *prefix, Py_ssize_t nprefix, PyObject **pointers) {
  if (nargs > nflags) return NULL;
  PyObject *key = PyTuple_New(nprefix + 1 + 2 * nargs + 3 * nkw);
  if (!key) return NULL;
  Py_ssize_t n = 0;
  for (Py_ssize_t i = 0; i < nprefix; i++) { Py_INCREF(prefix[i]); PyTuple_SET_ITEM(key, n++, prefix[i]); }
  PyTuple_SET_ITEM(key, n++, PyLong_FromSsize_t(nargs));
  for (Py_ssize_t i = 0; i < nargs; i++) {
    if (f[i] == VALUE) put_value(key, &n, args[i]);
    else if (put_spec(key, &n, args[i], f[i], &pointers[i]) < 0) goto unknown;
  }
  for (Py_ssize_t i = 0; i < nkw; i++) {
    Py_INCREF(kwnames[i]);
    PyTuple_SET_ITEM(key, n++, kwnames[i]);
    PyObject *flag = PyDict_GetItemWithError(kwflags, kwnames[i]);
    if (!flag && PyErr_Occurred()) goto unknown;
    long mode = flag ? PyLong_AsLong(flag) : VALUE;
    if (mode == VALUE) put_value(key, &n, kwvalues[i]);
    else if (put_spec(key, &n, kwvalues[i], (char)mode, NULL) < 0) goto unknown;
  }
  for (Py_ssize_t i = n; i < PyTuple_GET_SIZE(key); i++) { Py_INCREF(Py_None); PyTuple_SET_ITEM(key, i, Py_None); }
  if (_PyTuple_Resize(&key, n) < 0) goto fail;
  return key;
unknown:
  for (Py_ssize_t i = n; i < PyTuple_GET_SIZE(key); i++) { Py_INCREF(Py_None); PyTuple_SET_ITEM(key, i, Py_None); }
  Py_DECREF(key);
fail:
  for (Py_ssize_t i = 0; i < nargs; i++) Py_CLEAR(pointers[i]);
  return NULL;
}

#define SMALL 64  /* arguments held on the stack; more are allocated */

/* fingerprint(flags, kwflags, args, kwargs, *prefix): (key, the positional arguments for the
   launcher, each CUDA tensor as its data pointer) or None (see make_key). */
static PyObject *fingerprint(PyObject *self, PyObject *const *a, Py_ssize_t nargs_) {
  if (nargs_ < 4) {
    PyErr_SetString(PyExc_TypeError, "fingerprint(flags, kwflags, args, kwargs, *prefix)");
    return NULL;
  }
  PyObject *flags = a[0], *kwflags = a[1], *args = a[2], *kwargs = a[3];
  Py_ssize_t nargs = PyTuple_GET_SIZE(args), nkw = PyDict_GET_SIZE(kwargs);
  PyObject *small[3 * SMALL], **names = small, **values = small + SMALL, **pointers = small + 2 * SMALL;
  if (nargs > SMALL || nkw > SMALL) {
    names = PyMem_Calloc(2 * nkw + nargs + 1, sizeof(PyObject *));
    if (!names) return PyErr_NoMemory();
    values = names + nkw;
    pointers = values + nkw;
  }
  Py_ssize_t pos = 0, k = 0;
  PyObject *name, *value;
  while (PyDict_Next(kwargs, &pos, &name, &value)) { names[k] = name; values[k++] = value; }
  for (Py_ssize_t i = 0; i < nargs; i++) pointers[i] = NULL;
  PyObject *key = make_key(PyBytes_AS_STRING(flags), PyBytes_GET_SIZE(flags), kwflags, &PyTuple_GET_ITEM(args, 0),
                           nargs, names, values, nkw, a + 4, nargs_ - 4, pointers);
  PyObject *result = NULL, *launch_args = NULL;
  if (!key) {
    if (!PyErr_Occurred()) { Py_INCREF(Py_None); result = Py_None; }
    goto done;
  }
  int any = 0;
  for (Py_ssize_t i = 0; i < nargs; i++) any |= pointers[i] != NULL;
  if (any && (launch_args = PyTuple_New(nargs))) {  /* a new tuple (a whole slice of a tuple is the tuple itself) */
    for (Py_ssize_t i = 0; i < nargs; i++) {
      PyObject *item = pointers[i] ? pointers[i] : PyTuple_GET_ITEM(args, i);
      Py_INCREF(item);
      PyTuple_SET_ITEM(launch_args, i, item);
    }
    result = PyTuple_Pack(2, key, launch_args);
  } else if (!any) {
    result = PyTuple_Pack(2, key, args);
  }
  Py_DECREF(key);
  Py_XDECREF(launch_args);
  for (Py_ssize_t i = 0; i < nargs; i++) Py_XDECREF(pointers[i]);
done:
  if (names != small) PyMem_Free(names);
  return result;
}


/* -- a remembered launch in one C call ----------------------------------------------------- */

/* bound(fallback, flags, kwflags, config, resolved, fn, entries, cls, tritons, chain, runtime,
   compilation, gx, gy, gz): `kernel[grid]` for one tuple grid. A call makes every check the
   Python launch (`fallback`) makes, reading the same objects, and launches a remembered entry
   through its launcher's C function; wherever that launch would not be the direct one (no
   entry, a pre-run hook, a wrapped run, Triton's cache changed, a changed global, a hook set,
   scratch, an error reading an option), the call is the Python launch's, with the same
   arguments. */
enum { F_FALLBACK, F_FLAGS, F_KWFLAGS, F_CONFIG, F_RESOLVED, F_FN, F_ENTRIES, F_CLS, F_TRITONS, F_CHAIN,
       F_RUNTIME, F_COMPILATION, F_GX, F_GY, F_GZ, N_FIELDS };
/* an entry: (tkey, kernel, direct, function, packed, coop, pdl, pick, fill, order, fills, own) */
enum { E_TKEY, E_KERNEL, E_DIRECT, E_FUNCTION, E_PACKED, E_COOP, E_PDL, E_ORDER = 9, E_FILLS, N_ENTRY = 12 };
#define N_BASE 13  /* the launcher's arguments before the kernel's */

typedef struct {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject *f[N_FIELDS];
} Bound;

static PyObject *active_name, *device_name, *stream_name, *debug_name, *mode_name, *hooks_name, *run_name,
                *caches_name, *globals_name, *enter_name, *leave_name, *calls_name;
static PyObject NOT_TAKEN_OBJECT;  /* a sentinel: "take the Python launch" */
#define NOT_TAKEN (&NOT_TAKEN_OBJECT)

/* o.name into *keep (a new reference the caller releases); NULL with an error */
static PyObject *attr(PyObject *o, PyObject *name, PyObject **keep) {
  PyObject *v = PyObject_GetAttr(o, name);
  *keep = v;
  return v;
}

/* A hook slot is idle: None, or an empty chain of Triton's HookChain class. -1: an error. */
static int idle(PyObject *hook, PyObject *chain) {
  if (hook == Py_None) return 1;
  if ((PyObject *)Py_TYPE(hook) != chain) return 0;
  PyObject *calls = PyObject_GetAttr(hook, calls_name);
  if (!calls) return -1;
  int empty = PyObject_Not(calls);
  Py_DECREF(calls);
  return empty;
}

/* Triton's check that the globals the kernel was compiled with are unchanged: 1 when they are
   (0 sends the launch to the Python path, which raises Triton's error). */
static int globals_unchanged(PyObject *used) {
  if (!PyDict_Check(used)) return 0;
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(used, &pos, &k, &v)) {
    if (!PyTuple_Check(k) || PyTuple_GET_SIZE(k) < 1 || !PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2) return 0;
    PyObject *globals = PyTuple_GET_ITEM(v, 1);
    if (!PyDict_Check(globals)) return 0;
    PyObject *now = PyDict_GetItemWithError(globals, PyTuple_GET_ITEM(k, 0));
    if (!now) return PyErr_Occurred() ? -1 : 0;
    PyObject *ne = PyObject_RichCompare(now, PyTuple_GET_ITEM(v, 0), Py_NE);
    if (!ne) return -1;
    int changed = PyObject_IsTrue(ne);
    Py_DECREF(ne);
    if (changed) return changed < 0 ? -1 : 0;
  }
  return 1;
}

static PyObject *bound_launch(Bound *s, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  PyObject **f = s->f;
  PyObject *active = NULL, *device = NULL, *prefix[4] = {NULL, NULL, NULL, NULL}, *key = NULL, *result = NULL;
  PyObject *hooks = NULL, *run = NULL, *caches = NULL, *cache = NULL, *used = NULL, *getter = NULL, *stream = NULL;
  PyObject *enter = NULL, *leave = NULL;
  PyObject *small[SMALL + N_BASE], **arr = small, *pointers_small[SMALL], **pointers = pointers_small;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs > SMALL) return NOT_TAKEN;
  for (Py_ssize_t i = 0; i < nargs; i++) pointers[i] = NULL;
  /* driver.active, read as its property reads it once it is set */
  active = PyObject_GetAttr(f[F_CONFIG], active_name);
  if (!active) goto error;
  if (active == Py_None) { result = NOT_TAKEN; goto done; }
  /* the current device: torch's C call where _entry found it, else the driver's getter */
  PyObject *resolved = f[F_RESOLVED];
  if (PyList_GET_SIZE(resolved) == 2 && PyList_GET_ITEM(resolved, 0) == active &&
      PyList_GET_ITEM(resolved, 1) != Py_None)
    device = PyObject_CallNoArgs(PyList_GET_ITEM(resolved, 1));
  else
    device = PyObject_CallMethodNoArgs(active, device_name);
  if (!device) goto error;
  prefix[0] = device;
  Py_INCREF(device);
  if (!attr(f[F_FN], debug_name, &prefix[1]) || !attr(f[F_RUNTIME], debug_name, &prefix[2]) ||
      !attr(f[F_COMPILATION], mode_name, &prefix[3]))
    goto error;
  key = make_key(PyBytes_AS_STRING(f[F_FLAGS]), PyBytes_GET_SIZE(f[F_FLAGS]), f[F_KWFLAGS], args, nargs,
                 kwnames ? &PyTuple_GET_ITEM(kwnames, 0) : NULL, args + nargs, nkw, prefix, 4, pointers);
  if (!key) {
    if (PyErr_Occurred()) goto error;
    result = NOT_TAKEN;
    goto done;
  }
  PyObject *hit = PyDict_GetItemWithError(f[F_ENTRIES], key);
  if (!hit || !PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != N_ENTRY) {
    PyErr_Clear();  /* (an unhashable constexpr or option: the Python launch says what Triton makes of it) */
    result = NOT_TAKEN;
    goto done;
  }
  Py_INCREF(hit);  /* (kept: a hook below could drop it from the dict) */
  Py_SETREF(key, hit);
  PyObject *const *e = &PyTuple_GET_ITEM(hit, 0);
  if (!attr(f[F_FN], hooks_name, &hooks) || !attr(f[F_CLS], run_name, &run)) goto error;
  int hooked = PyObject_IsTrue(hooks);
  if (hooked < 0) goto error;
  if (hooked || run != PyList_GET_ITEM(f[F_TRITONS], 0) || e[E_DIRECT] == Py_None) { result = NOT_TAKEN; goto done; }
  /* Triton's cache still holds this kernel for this key */
  if (!attr(f[F_FN], caches_name, &caches) || !(cache = PyObject_GetItem(caches, device))) goto error;
  if (!PyTuple_Check(cache) || PyTuple_GET_SIZE(cache) < 1 || !PyDict_Check(PyTuple_GET_ITEM(cache, 0))) {
    result = NOT_TAKEN;
    goto done;
  }
  PyObject *now = PyDict_GetItemWithError(PyTuple_GET_ITEM(cache, 0), e[E_TKEY]);
  if (now != e[E_KERNEL]) {
    if (PyErr_Occurred()) goto error;
    result = NOT_TAKEN;
    goto done;
  }
  if (!attr(f[F_FN], globals_name, &used)) goto error;
  int truth = PyObject_IsTrue(used);
  if (truth < 0) goto error;
  if (truth) {
    int same = globals_unchanged(used);
    if (same < 0) goto error;
    if (!same) { result = NOT_TAKEN; goto done; }
  }
  if (!attr(f[F_RUNTIME], enter_name, &enter) || !attr(f[F_RUNTIME], leave_name, &leave)) goto error;
  int quiet = idle(enter, f[F_CHAIN]);
  if (quiet > 0) quiet = idle(leave, f[F_CHAIN]);
  if (quiet < 0) goto error;
  if (!quiet) { result = NOT_TAKEN; goto done; }
  if (!attr(active, stream_name, &getter) || !(stream = PyObject_CallOneArg(getter, device))) goto error;
  /* the launcher's arguments: Triton's base ones, the positional ones, then the rest in order */
  PyObject *order = e[E_ORDER], *fills = e[E_FILLS];
  Py_ssize_t nrest = PyTuple_GET_SIZE(order), total = N_BASE + nargs + nrest;
  if (total > SMALL + N_BASE && !(arr = PyMem_Malloc(total * sizeof(PyObject *)))) { PyErr_NoMemory(); goto error; }
  PyObject *base[N_BASE] = {f[F_GX], f[F_GY], f[F_GZ], stream, e[E_FUNCTION], e[E_COOP], e[E_PDL], Py_None, Py_None,
                            e[E_PACKED], Py_None, Py_None, Py_None};
  memcpy(arr, base, sizeof base);
  for (Py_ssize_t i = 0; i < nargs; i++) arr[N_BASE + i] = pointers[i] ? pointers[i] : args[i];
  for (Py_ssize_t j = 0; j < nrest; j++) {
    Py_ssize_t from = PyLong_AsSsize_t(PyTuple_GET_ITEM(order, j));
    arr[N_BASE + nargs + j] = from >= 0 && from < nkw ? args[nargs + from] : PyTuple_GET_ITEM(fills, j);
  }
  PyObject *r = PyObject_Vectorcall(e[E_DIRECT], arr, total, NULL);
  if (!r) goto error;
  Py_DECREF(r);
  result = e[E_KERNEL];
  Py_INCREF(result);
  goto done;
error:
  result = NULL;
done:
  if (arr != small) PyMem_Free(arr);
  for (Py_ssize_t i = 0; i < nargs; i++) Py_XDECREF(pointers[i]);
  for (int i = 0; i < 4; i++) Py_XDECREF(prefix[i]);
  Py_XDECREF(active); Py_XDECREF(device); Py_XDECREF(key); Py_XDECREF(hooks); Py_XDECREF(run);
  Py_XDECREF(caches); Py_XDECREF(cache); Py_XDECREF(used); Py_XDECREF(getter); Py_XDECREF(stream);
  Py_XDECREF(enter); Py_XDECREF(leave);
  return result;
}

static PyObject *bound_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
  Bound *s = (Bound *)self;
  PyObject *r = bound_launch(s, args, PyVectorcall_NARGS(nargsf), kwnames);
  if (r != NOT_TAKEN) return r;
  return PyObject_Vectorcall(s->f[F_FALLBACK], args, nargsf, kwnames);
}

static int bound_traverse(PyObject *self, visitproc visit, void *arg) {
  for (int i = 0; i < N_FIELDS; i++) Py_VISIT(((Bound *)self)->f[i]);
  return 0;
}

static int bound_clear(PyObject *self) {
  for (int i = 0; i < N_FIELDS; i++) Py_CLEAR(((Bound *)self)->f[i]);
  return 0;
}

static void bound_dealloc(PyObject *self) {
  PyObject_GC_UnTrack(self);
  bound_clear(self);
  PyObject_GC_Del(self);
}

static PyTypeObject BoundType = {
  PyVarObject_HEAD_INIT(NULL, 0)
  .tp_name = "__workbench_fingerprint.Bound",
  .tp_basicsize = sizeof(Bound),
  .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
  .tp_vectorcall_offset = offsetof(Bound, vectorcall),
  .tp_call = PyVectorcall_Call,
  .tp_traverse = bound_traverse,
  .tp_clear = bound_clear,
  .tp_dealloc = bound_dealloc,
};

static PyObject *bound(PyObject *self, PyObject *const *a, Py_ssize_t n) {
  if (n != N_FIELDS || !PyBytes_Check(a[F_FLAGS]) || !PyDict_Check(a[F_KWFLAGS]) || !PyList_Check(a[F_RESOLVED]) ||
      !PyDict_Check(a[F_ENTRIES]) || !PyList_Check(a[F_TRITONS]) || PyList_GET_SIZE(a[F_TRITONS]) < 1) {
    PyErr_SetString(PyExc_TypeError, "bound(fallback, flags, kwflags, config, resolved, fn, entries, cls, tritons, "
                                     "chain, runtime, compilation, gx, gy, gz)");
    return NULL;
  }
  Bound *b = PyObject_GC_New(Bound, &BoundType);
  if (!b) return NULL;
  b->vectorcall = bound_call;
  for (int i = 0; i < N_FIELDS; i++) { Py_INCREF(a[i]); b->f[i] = a[i]; }
  PyObject_GC_Track((PyObject *)b);
  return (PyObject *)b;
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
  {"bound", (PyCFunction)(void (*)(void))bound, METH_FASTCALL, NULL},
  {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "__workbench_fingerprint", NULL, -1, methods};

PyMODINIT_FUNC PyInit___workbench_fingerprint(void) {
  dtype_name = PyUnicode_InternFromString("dtype");
  data_ptr_name = PyUnicode_InternFromString("data_ptr");
  is_cuda_name = PyUnicode_InternFromString("is_cuda");
  if (!dtype_name || !data_ptr_name || !is_cuda_name) return NULL;
#define NAME(var, text) if (!(var = PyUnicode_InternFromString(text))) return NULL;
  NAME(active_name, "_active") NAME(device_name, "get_current_device") NAME(stream_name, "get_current_stream")
  NAME(debug_name, "debug") NAME(mode_name, "instrumentation_mode") NAME(hooks_name, "pre_run_hooks")
  NAME(run_name, "run") NAME(caches_name, "device_caches") NAME(globals_name, "used_global_vals")
  NAME(enter_name, "launch_enter_hook") NAME(leave_name, "launch_exit_hook") NAME(calls_name, "calls")
#undef NAME
  if (PyType_Ready(&BoundType) < 0) return NULL;
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
        fingerprint, bound = native().fingerprint, native().bound
        # the one-C-call launch goes with the own launcher (opt-in) until it has run on a GPU: the
        # default path stays the one the GPU suite checked
        one_call = self.own

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
                tkey, kernel, direct, function, packed, coop, pdl, pick, fill, _, _, own = hit
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
                if one_call:
                    # the launch in one C call: the same checks, then the launcher's C function;
                    # any launch it does not take is this Python one's
                    launch = bound(launch, flags, kwflags, driver, resolved, fn, entries, cls, tritons, chain,
                                   runtime, compilation, *dims)
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
        names = fn.arg_names[len(args):]
        pick, fill = _picker(names, kwargs, self.defaults)
        # the same for the C launch: each parameter's keyword index, or -1 and its default
        order = tuple(list(kwargs).index(n) if n in kwargs else -1 for n in names)
        fills = tuple(None if n in kwargs else self.defaults[n] for n in names)
        return (tkey, kernel, launcher.launch if direct else None, kernel.function,
                kernel.packed_metadata if own is None else own.packed,
                launcher.launch_cooperative_grid if direct else None, launcher.launch_pdl if direct else None,
                pick, fill, order, fills, own)


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
