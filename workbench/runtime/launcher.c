/* The workbench's own kernel launcher: the part every signature shares. launcher.py appends
   one `launch` function generated for a kernel signature (the code after the marker at the
   end). Every CUDA driver function is resolved with dlopen at the first launch, so building
   needs no libcuda; WORKBENCH_LIBCUDA names another library (the tests' stand-in). */
#include "cuda.h"
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef CUresult (*launch_t)(const CUlaunchConfig *, CUfunction, void **, void **);
typedef CUresult (*error_string_t)(CUresult, const char **);
typedef CUresult (*pointer_attribute_t)(void *, CUpointer_attribute, CUdeviceptr);
typedef CUresult (*ctx_get_current_t)(CUcontext *);
typedef CUresult (*device_get_t)(CUdevice *, int);
typedef CUresult (*primary_ctx_retain_t)(CUcontext *, CUdevice);
typedef CUresult (*ctx_set_current_t)(CUcontext);
typedef CUresult (*func_set_attribute_t)(CUfunction, CUfunction_attribute, int);
typedef CUresult (*encode_tiled_t)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *, const cuuint64_t *,
                                   const cuuint64_t *, const cuuint32_t *, const cuuint32_t *, CUtensorMapInterleave,
                                   CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static struct {
  launch_t launch;  /* set last: non-NULL means all are resolved */
  error_string_t error_string;
  pointer_attribute_t pointer_attribute;
  ctx_get_current_t ctx_get_current;
  device_get_t device_get;
  primary_ctx_retain_t primary_ctx_retain;
  ctx_set_current_t ctx_set_current;
  func_set_attribute_t func_set_attribute;
  encode_tiled_t encode_tiled;
} drv;

/* What a refusal names: the kernel (packed[3]) and the argument (packed[4][node]). */
typedef struct { PyObject *packed; } Ctx;

static PyObject *kernel_name(Ctx *c) {
  if (c->packed && PyTuple_GET_SIZE(c->packed) > 3) return PyTuple_GET_ITEM(c->packed, 3);
  return NULL;
}

/* "<kernel>: <what>" as one line of `exc`. */
static int say(Ctx *c, PyObject *exc, const char *fmt, ...) {
  va_list va;
  va_start(va, fmt);
  PyObject *what = PyUnicode_FromFormatV(fmt, va);
  va_end(va);
  if (!what) return -1;
  PyObject *name = kernel_name(c);
  if (name) PyErr_Format(exc, "%S: %U", name, what);
  else PyErr_Format(exc, "kernel: %U", what);
  Py_DECREF(what);
  return -1;
}

/* "argument 'x' (i32) <what>" */
static int refuse(Ctx *c, int node, const char *ty, PyObject *exc, const char *fmt, ...) {
  va_list va;
  va_start(va, fmt);
  PyObject *what = PyUnicode_FromFormatV(fmt, va);
  va_end(va);
  if (!what) return -1;
  PyObject *names = c->packed && PyTuple_GET_SIZE(c->packed) > 4 ? PyTuple_GET_ITEM(c->packed, 4) : NULL;
  PyObject *name = names && PyTuple_Check(names) && node >= 0 && node < PyTuple_GET_SIZE(names)
                       ? PyTuple_GET_ITEM(names, node) : NULL;
  if (node < 0) say(c, exc, "scratch pointer %U", what);
  else if (name && *ty) say(c, exc, "argument '%S' (%s) %U", name, ty, what);
  else if (name) say(c, exc, "argument '%S' %U", name, what);
  else say(c, exc, "argument #%d (%s) %U", node, ty, what);
  Py_DECREF(what);
  return -1;
}

static int resolve(Ctx *c) {
  if (drv.launch) return 0;
  const char *path = getenv("WORKBENCH_LIBCUDA");
  if (!path || !*path) path = "libcuda.so.1";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) return say(c, PyExc_RuntimeError, "cannot open the CUDA driver (%s): %s", path, dlerror());
#define FIND(field, symbol)                                                                       \
  drv.field = (void *)dlsym(lib, symbol);                                                          \
  if (!drv.field) return say(c, PyExc_RuntimeError, "the CUDA driver %s has no %s", path, symbol);
  FIND(error_string, "cuGetErrorString")
  FIND(pointer_attribute, "cuPointerGetAttribute")
  FIND(ctx_get_current, "cuCtxGetCurrent")
  FIND(device_get, "cuDeviceGet")
  FIND(primary_ctx_retain, "cuDevicePrimaryCtxRetain")
  FIND(ctx_set_current, "cuCtxSetCurrent")
  FIND(func_set_attribute, "cuFuncSetAttribute")
  FIND(encode_tiled, "cuTensorMapEncodeTiled")
  FIND(launch, "cuLaunchKernelEx")
#undef FIND
  return 0;
}

static int cuda_failed(Ctx *c, const char *call, CUresult r) {
  const char *text = NULL;
  if (drv.error_string) drv.error_string(r, &text);
  return say(c, PyExc_RuntimeError, "%s failed: CUDA error %d: %s", call, (int)r, text ? text : "unknown");
}

/* As Triton's launcher: a thread with no current context gets device 0's primary one. */
static int ensure_context(Ctx *c) {
  CUcontext ctx = NULL;
  CUresult r = drv.ctx_get_current(&ctx);
  if (r != CUDA_SUCCESS) return cuda_failed(c, "cuCtxGetCurrent", r);
  if (ctx) return 0;
  CUdevice device;
  if ((r = drv.device_get(&device, 0)) != CUDA_SUCCESS) return cuda_failed(c, "cuDeviceGet", r);
  if ((r = drv.primary_ctx_retain(&ctx, device)) != CUDA_SUCCESS) return cuda_failed(c, "cuDevicePrimaryCtxRetain", r);
  if ((r = drv.ctx_set_current(ctx)) != CUDA_SUCCESS) return cuda_failed(c, "cuCtxSetCurrent", r);
  return 0;
}

/* -- arguments ------------------------------------------------------------------------------ */

static int not_a(Ctx *c, int node, const char *ty, const char *want, PyObject *o) {
  return refuse(c, node, ty, PyExc_TypeError, "takes %s, got %s", want, Py_TYPE(o)->tp_name);
}

static int does_not_fit(Ctx *c, int node, const char *ty, PyObject *o, const char *range) {
  return refuse(c, node, ty, PyExc_OverflowError, "is %R, which does not fit %s (%s)", o, ty, range);
}

static int to_signed(Ctx *c, int node, const char *ty, PyObject *o, long long lo, long long hi, const char *range,
                     long long *v) {
  if (PyFloat_Check(o) || !PyIndex_Check(o)) return not_a(c, node, ty, "an int", o);
  int overflow;
  long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (x == -1 && PyErr_Occurred()) return -1;
  if (overflow || x < lo || x > hi) return does_not_fit(c, node, ty, o, range);
  *v = x;
  return 0;
}

static int to_unsigned(Ctx *c, int node, const char *ty, PyObject *o, unsigned long long hi, const char *range,
                       unsigned long long *v) {
  if (PyFloat_Check(o) || !PyIndex_Check(o)) return not_a(c, node, ty, "an int", o);
  PyObject *index = PyNumber_Index(o);
  if (!index) return -1;
  unsigned long long x = PyLong_AsUnsignedLongLong(index);
  Py_DECREF(index);
  if (x == (unsigned long long)-1 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
    PyErr_Clear();
    return does_not_fit(c, node, ty, o, range);
  }
  if (x > hi) return does_not_fit(c, node, ty, o, range);
  *v = x;
  return 0;
}

#define SIGNED(ctype, lo, hi, range)                                                               \
  static int to_##ctype(Ctx *c, int node, const char *ty, PyObject *o, ctype##_t *out) {           \
    long long v;                                                                                   \
    if (to_signed(c, node, ty, o, lo, hi, range, &v) < 0) return -1;                               \
    *out = (ctype##_t)v;                                                                           \
    return 0;                                                                                      \
  }
#define UNSIGNED(ctype, hi, range)                                                                 \
  static int to_##ctype(Ctx *c, int node, const char *ty, PyObject *o, ctype##_t *out) {           \
    unsigned long long v;                                                                          \
    if (to_unsigned(c, node, ty, o, hi, range, &v) < 0) return -1;                                 \
    *out = (ctype##_t)v;                                                                           \
    return 0;                                                                                      \
  }
SIGNED(int8, INT8_MIN, INT8_MAX, "-128..127")
SIGNED(int16, INT16_MIN, INT16_MAX, "-32768..32767")
SIGNED(int32, INT32_MIN, INT32_MAX, "-2147483648..2147483647")
SIGNED(int64, INT64_MIN, INT64_MAX, "-2**63..2**63-1")
UNSIGNED(uint8, UINT8_MAX, "0..255")
UNSIGNED(uint16, UINT16_MAX, "0..65535")
UNSIGNED(uint32, UINT32_MAX, "0..4294967295")
UNSIGNED(uint64, UINT64_MAX, "0..2**64-1")

/* i1 and u1: 0 or 1 (a bool) */
static int to_bit(Ctx *c, int node, const char *ty, PyObject *o, uint8_t *out) {
  unsigned long long v;
  if (o == Py_True || o == Py_False) { *out = o == Py_True; return 0; }
  if (to_unsigned(c, node, ty, o, 1, "0..1", &v) < 0) return -1;
  *out = (uint8_t)v;
  return 0;
}

static int to_double(Ctx *c, int node, const char *ty, PyObject *o, double *out) {
  if (PyFloat_CheckExact(o)) { *out = PyFloat_AS_DOUBLE(o); return 0; }
  PyNumberMethods *n = Py_TYPE(o)->tp_as_number;
  if (!n || (!n->nb_float && !n->nb_index)) return not_a(c, node, ty, "a float", o);
  double v = PyFloat_AsDouble(o);
  if (v == -1.0 && PyErr_Occurred()) return -1;
  *out = v;
  return 0;
}

/* Packed as Triton's launcher packs them: fp16 rounded to nearest even, bf16 the top half of
   the fp32 bits, fp32 a C cast, fp64 the bits. */
static int to_fp16(Ctx *c, int node, const char *ty, PyObject *o, uint16_t *out) {
  double v;
  if (to_double(c, node, ty, o, &v) < 0) return -1;
  if (PyFloat_Pack2(v, (char *)out, 1) < 0) {
    PyErr_Clear();
    return does_not_fit(c, node, ty, o, "+-65504");
  }
  return 0;
}

static int to_bf16(Ctx *c, int node, const char *ty, PyObject *o, uint16_t *out) {
  double v;
  if (to_double(c, node, ty, o, &v) < 0) return -1;
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, 4);
  *out = (uint16_t)(u >> 16);
  return 0;
}

static int to_fp32(Ctx *c, int node, const char *ty, PyObject *o, uint32_t *out) {
  double v;
  if (to_double(c, node, ty, o, &v) < 0) return -1;
  float f = (float)v;
  memcpy(out, &f, 4);
  return 0;
}

static int to_fp64(Ctx *c, int node, const char *ty, PyObject *o, uint64_t *out) {
  double v;
  if (to_double(c, node, ty, o, &v) < 0) return -1;
  memcpy(out, &v, 8);
  return 0;
}

static PyObject *data_ptr_name;

/* A pointer: None (null), an int (as it is, as Triton's launcher takes it), or anything with
   data_ptr(), whose address the driver must know as device memory. */
static int to_pointer(Ctx *c, int node, const char *ty, PyObject *o, CUdeviceptr *out) {
  if (o == Py_None) { *out = 0; return 0; }
  if (PyLong_Check(o)) {
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
      PyErr_Clear();
      return does_not_fit(c, node, ty, o, "a 64-bit address");
    }
    *out = (CUdeviceptr)v;
    return 0;
  }
  if (PyFloat_Check(o) || PyUnicode_Check(o) || PyBytes_Check(o)) return not_a(c, node, ty, "a tensor, an int or None", o);
  PyObject *got = PyObject_CallMethodNoArgs(o, data_ptr_name);
  if (!got) {
    PyErr_Clear();
    return not_a(c, node, ty, "a tensor, an int or None", o);
  }
  if (!PyLong_Check(got)) {
    Py_DECREF(got);
    return refuse(c, node, ty, PyExc_TypeError, "has a data_ptr() that is not an int");
  }
  unsigned long long p = PyLong_AsUnsignedLongLong(got);
  Py_DECREF(got);
  if (p == (unsigned long long)-1 && PyErr_Occurred()) return -1;
  *out = (CUdeviceptr)p;
  if (!p) return 0;
  CUdeviceptr device;
  CUresult r = drv.pointer_attribute(&device, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, (CUdeviceptr)p);
  if (r == CUDA_ERROR_INVALID_VALUE) {
    char at[32];  /* (PyUnicode_FromFormat has no %llx) */
    snprintf(at, sizeof at, "0x%llx", p);
    return refuse(c, node, ty, PyExc_ValueError, "at %s cannot be accessed from the GPU (a CPU tensor?)", at);
  }
  if (r != CUDA_SUCCESS) return cuda_failed(c, "cuPointerGetAttribute", r);
  *out = device;
  return 0;
}

/* A host TMA descriptor: the 128 bytes encode_tma made. */
static int to_tma(Ctx *c, int node, const char *ty, PyObject *o, CUtensorMap *out) {
  if (!PyBytes_CheckExact(o) || PyBytes_GET_SIZE(o) != sizeof(CUtensorMap))
    return not_a(c, node, ty, "a TMA descriptor (128 bytes)", o);
  memcpy(out, PyBytes_AS_STRING(o), sizeof(CUtensorMap));
  return 0;
}

static int check_tuple(Ctx *c, int node, PyObject *o, Py_ssize_t n) {
  if (PyTuple_Check(o) && PyTuple_GET_SIZE(o) == n) return 0;
  if (PyTuple_Check(o))
    return refuse(c, node, "", PyExc_TypeError, "takes a tuple of %zd, got tuple of %zd", n, PyTuple_GET_SIZE(o));
  return refuse(c, node, "", PyExc_TypeError, "takes a tuple of %zd, got %s", n, Py_TYPE(o)->tp_name);
}

static int to_grid(Ctx *c, PyObject *o, unsigned int *out) {
  long v = PyLong_AsLong(o);
  if (v == -1 && PyErr_Occurred()) return -1;
  if (v < 0 || v > INT32_MAX) return say(c, PyExc_ValueError, "a grid dimension is %ld; it must be 0..2**31-1", v);
  *out = (unsigned int)v;
  return 0;
}

/* The base arguments, in the order of Triton's compiled launcher. */
typedef struct {
  unsigned int grid[3];
  CUstream stream;
  CUfunction function;
  int coop, pdl, num_warps, num_ctas, shared;
  CUdeviceptr global_scratch, profile_scratch;
  PyObject *launch_metadata, *enter, *leave;
} Base;

#define N_BASE 13

static int read_base(Ctx *c, PyObject *const *a, Base *b) {
  for (int i = 0; i < 3; i++)
    if (to_grid(c, a[i], &b->grid[i]) < 0) return -1;
  unsigned long long stream = PyLong_AsUnsignedLongLong(a[3]), function = PyLong_AsUnsignedLongLong(a[4]);
  if (PyErr_Occurred()) return -1;
  b->stream = (CUstream)(uintptr_t)stream;
  b->function = (CUfunction)(uintptr_t)function;
  if ((b->coop = PyObject_IsTrue(a[5])) < 0 || (b->pdl = PyObject_IsTrue(a[6])) < 0) return -1;
  PyObject *packed = a[9];
  if (!PyTuple_Check(packed) || PyTuple_GET_SIZE(packed) < 3)
    return say(c, PyExc_TypeError, "the kernel's metadata is not (num_warps, num_ctas, shared, ...)");
  b->num_warps = (int)PyLong_AsLong(PyTuple_GET_ITEM(packed, 0));
  b->num_ctas = (int)PyLong_AsLong(PyTuple_GET_ITEM(packed, 1));
  b->shared = (int)PyLong_AsLong(PyTuple_GET_ITEM(packed, 2));
  if (PyErr_Occurred()) return -1;
  if (to_pointer(c, -1, "*i8", a[7], &b->global_scratch) < 0) return -1;
  if (to_pointer(c, -1, "*i8", a[8], &b->profile_scratch) < 0) return -1;
  b->launch_metadata = a[10];
  b->enter = a[11];
  b->leave = a[12];
  return 0;
}

static int call_hook(PyObject *hook, PyObject *metadata) {
  if (hook == Py_None) return 0;
  PyObject *r = PyObject_CallOneArg(hook, metadata);
  if (!r) return -1;
  Py_DECREF(r);
  return 0;
}

/* The launch, as Triton 3.6's launcher configures it. */
static CUresult launch_kernel(Base *b, void **params) {
  if ((unsigned long long)b->grid[0] * b->grid[1] * b->grid[2] == 0) return CUDA_SUCCESS;
  CUlaunchAttribute attrs[4];
  memset(attrs, 0, sizeof attrs);
  CUlaunchConfig config;
  memset(&config, 0, sizeof config);
  config.gridDimX = b->grid[0] * b->num_ctas;
  config.gridDimY = b->grid[1];
  config.gridDimZ = b->grid[2];
  config.blockDimX = 32 * b->num_warps;
  config.blockDimY = 1;
  config.blockDimZ = 1;
  config.sharedMemBytes = b->shared;
  config.hStream = b->stream;
  config.attrs = attrs;
  unsigned int n = 0;
  if (b->pdl) {
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attrs[n++].value.programmaticStreamSerializationAllowed = 1;
  }
  if (b->coop) {
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
    attrs[n++].value.cooperative = 1;
  }
  if (b->num_ctas != 1) {
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attrs[n].value.clusterDim.x = b->num_ctas;
    attrs[n].value.clusterDim.y = 1;
    attrs[n++].value.clusterDim.z = 1;
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE;
    attrs[n++].value.clusterSchedulingPolicyPreference = CU_CLUSTER_SCHEDULING_POLICY_SPREAD;
  }
  config.numAttrs = n;
  if (b->num_ctas == 16) {  /* non-portable; H100 and B200 take it */
    CUresult r = drv.func_set_attribute(b->function, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1);
    if (r != CUDA_SUCCESS) return r;
  }
  return drv.launch(&config, b->function, params, NULL);
}

/* encode_tma(address, swizzle, elem_size, elem_type, block_size, shape, strides, padding, kernel):
   a host TMA descriptor (128 bytes), as Triton's driver fills one (fill_tma_descriptor). */
static PyObject *encode_tma(PyObject *self, PyObject *args) {
  unsigned long long address;
  int swizzle, elem_size, elem_type, padding;
  PyObject *block, *shape, *strides, *name;
  if (!PyArg_ParseTuple(args, "KiiiOOOiO", &address, &swizzle, &elem_size, &elem_type, &block, &shape, &strides,
                        &padding, &name))
    return NULL;
  PyObject *packed = PyTuple_Pack(4, Py_None, Py_None, Py_None, name);
  if (!packed) return NULL;
  Ctx ctx = {packed}, *c = &ctx;
  PyObject *result = NULL;
  cuuint32_t box[5], element_strides[5] = {1, 1, 1, 1, 1};
  cuuint64_t dims[5], byte_strides[5];
  Py_ssize_t rank = PySequence_Size(block);
  if (rank < 1 || rank > 5 || PySequence_Size(shape) != rank || PySequence_Size(strides) != rank) {
    if (!PyErr_Occurred()) say(c, PyExc_ValueError, "a tensor descriptor of rank 1 to 5 with a shape, strides and block of that rank");
    goto done;
  }
  for (Py_ssize_t i = 0; i < rank; i++) {
    PyObject *b = PySequence_GetItem(block, i), *s = PySequence_GetItem(shape, i), *t = PySequence_GetItem(strides, i);
    long long bv = b ? PyLong_AsLongLong(b) : -1, sv = s ? PyLong_AsLongLong(s) : -1, tv = t ? PyLong_AsLongLong(t) : -1;
    Py_XDECREF(b);
    Py_XDECREF(s);
    Py_XDECREF(t);
    if (PyErr_Occurred()) goto done;
    box[rank - i - 1] = (cuuint32_t)bv;
    dims[rank - i - 1] = (cuuint64_t)sv;
    if (i + 1 < rank) byte_strides[rank - i - 2] = (cuuint64_t)(elem_size * tv);
  }
  byte_strides[rank - 1] = dims[rank - 1] * (rank == 1 ? (cuuint64_t)elem_size : byte_strides[rank - 2]);
  if (resolve(c) < 0 || ensure_context(c) < 0) goto done;
  result = PyBytes_FromStringAndSize(NULL, sizeof(CUtensorMap));
  if (!result) goto done;
  CUtensorMap map __attribute__((aligned(128)));
  CUresult r = drv.encode_tiled(&map, (CUtensorMapDataType)elem_type, (cuuint32_t)rank, (void *)(uintptr_t)address,
                                dims, byte_strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                (CUtensorMapSwizzle)swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                                padding == 1 ? CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA
                                             : CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    Py_CLEAR(result);
    cuda_failed(c, "cuTensorMapEncodeTiled", r);
    goto done;
  }
  memcpy(PyBytes_AS_STRING(result), &map, sizeof(CUtensorMap));
done:
  Py_DECREF(packed);
  return result;
}

/* reset_driver(): resolve the driver again at the next launch (WORKBENCH_LIBCUDA re-read). */
static PyObject *reset_driver(PyObject *self, PyObject *unused) {
  memset(&drv, 0, sizeof drv);
  Py_RETURN_NONE;
}

static PyObject *launch(PyObject *self, PyObject *const *a, Py_ssize_t n);

static PyMethodDef methods[] = {
  {"launch", (PyCFunction)(void (*)(void))launch, METH_FASTCALL, NULL},
  {"encode_tma", encode_tma, METH_VARARGS, NULL},
  {"reset_driver", reset_driver, METH_NOARGS, NULL},
  {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_wb_launcher", NULL, -1, methods};

PyMODINIT_FUNC PyInit__wb_launcher(void) {
  data_ptr_name = PyUnicode_InternFromString("data_ptr");
  if (!data_ptr_name) return NULL;
  return PyModule_Create(&module);
}

/* -- generated for one signature ------------------------------------------------------------ */
