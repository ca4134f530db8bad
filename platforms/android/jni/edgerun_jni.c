/* JNI binding of the edgerun C library (platforms/lib/include/edgerun_runtime.h) for ai.edgerun.Interpreter.
 *
 * The Java class does the argument checks that name inputs (types, sizes, buffer kinds); this file checks
 * again what it touches (handle, index, byte counts, buffer bounds) and turns every failure of the C library
 * into a thrown ai.edgerun.EdgerunException carrying the library's own message and status. Nothing here
 * aborts: a failed JNI lookup or allocation leaves the pending Java exception (OutOfMemoryError,
 * NoClassDefFoundError) to be thrown on return.
 *
 * The handle is the edgerun_model pointer as a jlong; 0 means closed (the Java side refuses it first).
 */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edgerun_runtime.h"

#define EXCEPTION_CLASS "ai/edgerun/EdgerunException"

static edgerun_model *model_of(jlong handle) { return (edgerun_model *)(intptr_t)handle; }

/* Throw EdgerunException(message, status); falls back to RuntimeException if the class is missing. */
static void throw_edgerun(JNIEnv *env, edgerun_status status, const char *message) {
  if ((*env)->ExceptionCheck(env)) return;
  jclass cls = (*env)->FindClass(env, EXCEPTION_CLASS);
  if (cls == NULL) {
    (*env)->ExceptionClear(env);
    jclass rt = (*env)->FindClass(env, "java/lang/RuntimeException");
    if (rt != NULL) (*env)->ThrowNew(env, rt, message);
    return;
  }
  jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(Ljava/lang/String;I)V");
  jstring text = ctor != NULL ? (*env)->NewStringUTF(env, message) : NULL;
  if (ctor == NULL || text == NULL) {
    (*env)->ExceptionClear(env);
    (*env)->ThrowNew(env, cls, message);
    return;
  }
  jthrowable exc = (jthrowable)(*env)->NewObject(env, cls, ctor, text, (jint)status);
  if (exc != NULL) (*env)->Throw(env, exc);
}

static void throw_model(JNIEnv *env, edgerun_model *m, edgerun_status status) {
  const char *msg = m != NULL ? edgerun_last_error(m) : "";
  if (msg == NULL || msg[0] == '\0') msg = edgerun_status_name(status);
  throw_edgerun(env, status, msg);
}

static void throw_java(JNIEnv *env, const char *cls_name, const char *message) {
  if ((*env)->ExceptionCheck(env)) return;
  jclass cls = (*env)->FindClass(env, cls_name);
  if (cls != NULL) (*env)->ThrowNew(env, cls, message);
}

/* The model of a handle, or NULL with IllegalStateException thrown. */
static edgerun_model *live(JNIEnv *env, jlong handle) {
  edgerun_model *m = model_of(handle);
  if (m == NULL) throw_java(env, "java/lang/IllegalStateException", "the interpreter is closed");
  return m;
}

/* -- open / close ------------------------------------------------------------------------------------- */
JNIEXPORT jlong JNICALL Java_ai_edgerun_Interpreter_nativeOpenFile(JNIEnv *env, jclass cls, jstring path) {
  (void)cls;
  if (path == NULL) {
    throw_java(env, "java/lang/NullPointerException", "path is null");
    return 0;
  }
  const char *p = (*env)->GetStringUTFChars(env, path, NULL);
  if (p == NULL) return 0; /* OutOfMemoryError pending */
  char err[512];
  err[0] = '\0';
  edgerun_model *m = NULL;
  edgerun_status st = edgerun_open_file(p, &m, err, sizeof err);
  (*env)->ReleaseStringUTFChars(env, path, p);
  if (st != EDGERUN_OK) {
    throw_edgerun(env, st, err[0] ? err : edgerun_status_name(st));
    return 0;
  }
  return (jlong)(intptr_t)m;
}

static jlong open_memory(JNIEnv *env, const void *data, size_t size) {
  char err[512];
  err[0] = '\0';
  edgerun_model *m = NULL;
  /* EDGERUN_COPY: the model keeps its own aligned copy, so Java may move or free the bytes afterwards. */
  edgerun_status st = edgerun_open_memory(data, size, EDGERUN_COPY, &m, err, sizeof err);
  if (st != EDGERUN_OK) {
    throw_edgerun(env, st, err[0] ? err : edgerun_status_name(st));
    return 0;
  }
  return (jlong)(intptr_t)m;
}

JNIEXPORT jlong JNICALL Java_ai_edgerun_Interpreter_nativeOpenBytes(JNIEnv *env, jclass cls, jbyteArray data,
                                                                   jint offset, jint length) {
  (void)cls;
  if (data == NULL) {
    throw_java(env, "java/lang/NullPointerException", "plan bytes are null");
    return 0;
  }
  jsize n = (*env)->GetArrayLength(env, data);
  if (offset < 0 || length < 0 || offset > n || length > n - offset) {
    throw_java(env, "java/lang/IndexOutOfBoundsException", "plan bytes: offset/length outside the array");
    return 0;
  }
  jbyte *bytes = (*env)->GetByteArrayElements(env, data, NULL);
  if (bytes == NULL) return 0;
  jlong h = open_memory(env, bytes + offset, (size_t)length);
  (*env)->ReleaseByteArrayElements(env, data, bytes, JNI_ABORT);
  return h;
}

JNIEXPORT jlong JNICALL Java_ai_edgerun_Interpreter_nativeOpenDirect(JNIEnv *env, jclass cls, jobject buffer,
                                                                    jint position, jint length) {
  (void)cls;
  if (buffer == NULL) {
    throw_java(env, "java/lang/NullPointerException", "plan buffer is null");
    return 0;
  }
  uint8_t *base = (uint8_t *)(*env)->GetDirectBufferAddress(env, buffer);
  jlong cap = (*env)->GetDirectBufferCapacity(env, buffer);
  if (base == NULL || cap < 0) {
    throw_java(env, "java/lang/IllegalArgumentException", "plan buffer is not a direct ByteBuffer");
    return 0;
  }
  if (position < 0 || length < 0 || (jlong)position + length > cap) {
    throw_java(env, "java/lang/IndexOutOfBoundsException", "plan buffer: position/length outside its capacity");
    return 0;
  }
  return open_memory(env, base + position, (size_t)length);
}

JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeClose(JNIEnv *env, jclass cls, jlong handle) {
  (void)env;
  (void)cls;
  edgerun_close(model_of(handle));
}

/* -- description -------------------------------------------------------------------------------------- */
JNIEXPORT jint JNICALL Java_ai_edgerun_Interpreter_nativeCount(JNIEnv *env, jclass cls, jlong handle,
                                                              jboolean output) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return 0;
  return output ? edgerun_output_count(m) : edgerun_input_count(m);
}

/* A new ai.edgerun.Tensor(index, name, type, shape, scale, zeroPoint, numBytes, isOutput). */
JNIEXPORT jobject JNICALL Java_ai_edgerun_Interpreter_nativeTensor(JNIEnv *env, jclass cls, jlong handle,
                                                                  jboolean output, jint index) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return NULL;
  edgerun_tensor_info info;
  memset(&info, 0, sizeof info);
  edgerun_status st = output ? edgerun_output_info(m, index, &info) : edgerun_input_info(m, index, &info);
  if (st != EDGERUN_OK) {
    throw_model(env, m, st);
    return NULL;
  }
  if (info.ndim < 0 || info.ndim > 8) {
    throw_edgerun(env, EDGERUN_ERROR_FORMAT, "tensor rank outside 0..8");
    return NULL;
  }
  jclass tcls = (*env)->FindClass(env, "ai/edgerun/Tensor");
  if (tcls == NULL) return NULL;
  jmethodID ctor = (*env)->GetMethodID(env, tcls, "<init>", "(ILjava/lang/String;I[IFIJZ)V");
  if (ctor == NULL) return NULL;
  jstring name = (*env)->NewStringUTF(env, info.name != NULL ? info.name : "");
  if (name == NULL) return NULL;
  jintArray shape = (*env)->NewIntArray(env, info.ndim);
  if (shape == NULL) return NULL;
  jint dims[8];
  for (int d = 0; d < info.ndim; ++d) dims[d] = info.dims[d];
  (*env)->SetIntArrayRegion(env, shape, 0, info.ndim, dims);
  return (*env)->NewObject(env, tcls, ctor, index, name, (jint)info.type, shape, (jfloat)info.scale,
                           (jint)info.zero_point, (jlong)info.bytes, output);
}

/* -- data in and out ---------------------------------------------------------------------------------- */
/* Copy between the tensor and `data` (bytes long). */
static edgerun_status copy(edgerun_model *m, jboolean output, jint index, void *data, size_t bytes) {
  return output ? edgerun_get_output(m, index, data, bytes) : edgerun_set_input(m, index, data, bytes);
}

/* Direct ByteBuffer: bytes [position, position + bytes). */
JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeCopyDirect(JNIEnv *env, jclass cls, jlong handle,
                                                                   jboolean output, jint index, jobject buffer,
                                                                   jint position, jint bytes) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return;
  uint8_t *base = buffer != NULL ? (uint8_t *)(*env)->GetDirectBufferAddress(env, buffer) : NULL;
  jlong cap = buffer != NULL ? (*env)->GetDirectBufferCapacity(env, buffer) : -1;
  if (base == NULL || cap < 0) {
    throw_java(env, "java/lang/IllegalArgumentException", "not a direct ByteBuffer");
    return;
  }
  if (position < 0 || bytes < 0 || (jlong)position + bytes > cap) {
    throw_java(env, "java/lang/IndexOutOfBoundsException", "ByteBuffer: position/size outside its capacity");
    return;
  }
  edgerun_status st = copy(m, output, index, base + position, (size_t)bytes);
  if (st != EDGERUN_OK) throw_model(env, m, st);
}

/* Primitive array (float[], int[], byte[], short[], long[], double[]): bytes [offset, offset + bytes) of its
 * storage. The caller checked the element type; the length is checked here in bytes. */
JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeCopyArray(JNIEnv *env, jclass cls, jlong handle,
                                                                  jboolean output, jint index, jobject array,
                                                                  jint elemBytes, jint offset, jint bytes) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return;
  if (array == NULL) {
    throw_java(env, "java/lang/NullPointerException", "array is null");
    return;
  }
  jlong total = (jlong)(*env)->GetArrayLength(env, (jarray)array) * elemBytes;
  if (elemBytes <= 0 || offset < 0 || bytes < 0 || (jlong)offset + bytes > total) {
    throw_java(env, "java/lang/IndexOutOfBoundsException", "array: offset/size outside the array");
    return;
  }
  void *data = (*env)->GetPrimitiveArrayCritical(env, (jarray)array, NULL);
  if (data == NULL) return; /* OutOfMemoryError pending */
  /* No JNI calls between Get and Release: the C library only copies. */
  edgerun_status st = copy(m, output, index, (uint8_t *)data + offset, (size_t)bytes);
  (*env)->ReleasePrimitiveArrayCritical(env, (jarray)array, data, output ? 0 : JNI_ABORT);
  if (st != EDGERUN_OK) throw_model(env, m, st);
}

/* -- running ------------------------------------------------------------------------------------------ */
JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeInvoke(JNIEnv *env, jclass cls, jlong handle) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return;
  edgerun_status st = edgerun_invoke(m);
  if (st != EDGERUN_OK) throw_model(env, m, st);
}

JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeResetVariables(JNIEnv *env, jclass cls, jlong handle) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return;
  edgerun_status st = edgerun_reset_variables(m);
  if (st != EDGERUN_OK) throw_model(env, m, st);
}

JNIEXPORT void JNICALL Java_ai_edgerun_Interpreter_nativeSetNumThreads(JNIEnv *env, jclass cls, jlong handle,
                                                                      jint threads) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return;
  edgerun_status st = edgerun_set_num_threads(m, threads);
  if (st != EDGERUN_OK) throw_model(env, m, st);
}

/* -- facts -------------------------------------------------------------------------------------------- */
JNIEXPORT jstring JNICALL Java_ai_edgerun_Interpreter_nativeModelText(JNIEnv *env, jclass cls, jlong handle,
                                                                     jint what) {
  (void)cls;
  edgerun_model *m = live(env, handle);
  if (m == NULL) return NULL;
  const char *s = what == 0 ? edgerun_model_target(m) : edgerun_model_kernel_set(m);
  return (*env)->NewStringUTF(env, s != NULL ? s : "");
}

JNIEXPORT jstring JNICALL Java_ai_edgerun_Interpreter_nativeRuntimeVersion(JNIEnv *env, jclass cls) {
  (void)cls;
  const char *s = edgerun_runtime_version();
  return (*env)->NewStringUTF(env, s != NULL ? s : "");
}
