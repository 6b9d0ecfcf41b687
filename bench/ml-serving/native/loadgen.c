/*
 * Native open-loop load generator for serving.bench.ts: one thread, epoll, a timerfd on CLOCK_MONOTONIC
 * for pacing, no garbage collector. It takes the Node load generator's own pauses (its scavenges and
 * mark-compacts show up as server latency) out of the measurement.
 *
 *   loadgen grpc|rest <port> <path> <body-file> <rate> <seconds> <warmup-seconds> <out-file>
 *
 * Request i is due at t0 + i/rate and its latency is counted from that due time (not from when it
 * actually went out), so a stall of this client or a full connection pool counts against the server
 * rather than being hidden (no coordinated omission).
 *   grpc: HTTP/2 (h2c, prior knowledge) over one connection via libnghttp2; POST <path> with
 *         content-type application/grpc and the body file as the length-prefixed message; a request
 *         succeeds on :status 200 and grpc-status 0 (in the trailers or a trailers-only answer).
 *   rest: HTTP/1.1 keep-alive, one request in flight per connection, a new connection whenever all are
 *         busy (so no request queues behind another in the client); succeeds on status 200.
 * Output: <out-file> gets one little-endian float64 per measured request: latency in ms, or NaN for a
 * failure. stdout gets one line: "sent <n> failed <n> first_error <text>".
 *
 *   loadgen sleep <seconds>
 *
 * Host noise, no server involved: sleeps 1 ms (clock_nanosleep) over and over and prints how late it
 * woke up, "sleep_lateness_ms p50 <x> p99 <x> p999 <x> max <x>". On a quiet day this machine showed p99
 * 0.12 ms; when it is milliseconds, so is every server's p99 measured in the same minutes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAX_REST_CONNS 256

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* ---- shared state ---- */
static double *latency;     /* per request, ms; NaN = failed */
static int64_t *due;        /* per request, ns */
static long total, warm, done_count, failed;
static char first_error[256];
static int epfd;

static void finish_request(long i, int ok, const char *error) {
  latency[i] = ok ? (double)(now_ns() - due[i]) / 1e6 : NAN;
  if (!ok && i >= warm) {
    failed++;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", error);
  }
  done_count++;
}

/* ---- gRPC over HTTP/2 (nghttp2) ---- */
static nghttp2_session *h2;
static int h2fd;
static const uint8_t *body;
static size_t body_len;
static const char *path;

typedef struct {
  long index;
  size_t body_off;
  int http_status;
  int grpc_status; /* -1 = not seen */
} stream_ctx;

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *u) {
  (void)s; (void)flags; (void)u;
  ssize_t n = write(h2fd, data, len);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? NGHTTP2_ERR_WOULDBLOCK : NGHTTP2_ERR_CALLBACK_FAILURE;
  return n;
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen, uint8_t flags, void *u) {
  (void)flags; (void)u;
  stream_ctx *c = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  if (!c) return 0;
  char v[16] = {0};
  memcpy(v, value, valuelen < sizeof v - 1 ? valuelen : sizeof v - 1);
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) c->http_status = atoi(v);
  if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) c->grpc_status = atoi(v);
  return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *u) {
  (void)flags; (void)data; (void)u;
  nghttp2_session_consume(s, id, len); /* the response message itself is not needed */
  return 0;
}

static int h2_on_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *u) {
  (void)u;
  stream_ctx *c = nghttp2_session_get_stream_user_data(s, id);
  if (!c) return 0;
  char err[128];
  int ok = error_code == 0 && c->http_status == 200 && c->grpc_status == 0;
  snprintf(err, sizeof err, "HTTP %d, grpc-status %d, h2 error %u", c->http_status, c->grpc_status, error_code);
  finish_request(c->index, ok, err);
  free(c);
  return 0;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags, nghttp2_data_source *src, void *u) {
  (void)s; (void)id; (void)u;
  stream_ctx *c = src->ptr;
  size_t n = body_len - c->body_off < len ? body_len - c->body_off : len;
  memcpy(buf, body + c->body_off, n);
  c->body_off += n;
  if (c->body_off == body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static void h2_flush(void) {
  int rv = nghttp2_session_send(h2);
  if (rv != 0) {
    fprintf(stderr, "nghttp2_session_send: %s\n", nghttp2_strerror(rv));
    exit(2);
  }
  struct epoll_event ev = {.events = EPOLLIN | (nghttp2_session_want_write(h2) ? EPOLLOUT : 0), .data.fd = h2fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, h2fd, &ev);
}

static void grpc_setup(int port) {
  h2fd = connect_to(port);
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_send_callback(cb, h2_send);
  nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
  nghttp2_session_client_new(&h2, cb, NULL);
  nghttp2_session_callbacks_del(cb);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  nghttp2_submit_settings(h2, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(h2, NGHTTP2_FLAG_NONE, 0, 1 << 24);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = h2fd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, h2fd, &ev);
  h2_flush();
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static void grpc_send(long i) {
  stream_ctx *c = calloc(1, sizeof *c);
  c->index = i;
  c->grpc_status = -1;
  nghttp2_nv hdrs[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "127.0.0.1"), NV(":path", path),
                       NV("content-type", "application/grpc"), NV("te", "trailers")};
  nghttp2_data_provider dp = {.source.ptr = c, .read_callback = h2_read_body};
  if (nghttp2_submit_request(h2, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &dp, c) < 0) {
    free(c);
    finish_request(i, 0, "nghttp2_submit_request failed");
    return;
  }
  h2_flush();
}

static void grpc_readable(void) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = read(h2fd, buf, sizeof buf);
    if (n > 0) {
      if (nghttp2_session_mem_recv(h2, buf, (size_t)n) < 0) {
        fprintf(stderr, "nghttp2_session_mem_recv failed\n");
        exit(2);
      }
      continue;
    }
    if (n == 0) {
      fprintf(stderr, "server closed the HTTP/2 connection\n");
      exit(2);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    die("read");
  }
  h2_flush();
}

/* ---- REST over HTTP/1.1 ---- */
typedef struct {
  int fd;
  long index; /* -1 = idle */
  char buf[8192];
  size_t len;
} rest_conn;
static rest_conn conns[MAX_REST_CONNS];
static int nconns;
static char *rest_request;
static size_t rest_request_len;
static int rest_port;

static void rest_send(long i) {
  rest_conn *c = NULL;
  for (int k = 0; k < nconns; k++)
    if (conns[k].index < 0) {
      c = &conns[k];
      break;
    }
  if (!c) {
    if (nconns == MAX_REST_CONNS) {
      finish_request(i, 0, "all client connections busy");
      return;
    }
    c = &conns[nconns];
    c->fd = connect_to(rest_port);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(0x10000 + nconns)};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    nconns++;
  }
  c->index = i;
  c->len = 0;
  ssize_t n = write(c->fd, rest_request, rest_request_len); /* small: fits the socket buffer */
  if (n != (ssize_t)rest_request_len) {
    c->index = -1;
    finish_request(i, 0, "short write");
  }
}

static void rest_readable(rest_conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    if (n == 0) {
      fprintf(stderr, "server closed a keep-alive connection\n");
      exit(2);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      die("read");
    }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) continue;
    char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    size_t body = cl && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    size_t need = (size_t)(end + 4 - c->buf) + body;
    if (c->len < need) continue;
    int status = atoi(c->buf + 9); /* "HTTP/1.1 200" */
    char err[64];
    snprintf(err, sizeof err, "HTTP %d", status);
    long i = c->index;
    c->index = -1;
    c->len = 0;
    finish_request(i, status == 200, err);
    return;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int sleep_probe(double seconds) {
  size_t n = (size_t)(seconds * 1000), got = 0;
  double *late = malloc(n * sizeof *late);
  if (!late) die("malloc");
  struct timespec ms = {0, 1000000};
  for (; got < n; got++) {
    int64_t t = now_ns();
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
    late[got] = (double)(now_ns() - t) / 1e6 - 1.0;
  }
  qsort(late, got, sizeof *late, cmp_double);
  printf("sleep_lateness_ms p50 %.3f p99 %.3f p999 %.3f max %.3f\n", late[got / 2], late[got * 99 / 100], late[got * 999 / 1000], late[got - 1]);
  free(late);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "sleep") == 0) return sleep_probe(atof(argv[2]));
  if (argc != 9) {
    fprintf(stderr, "usage: loadgen grpc|rest <port> <path> <body-file> <rate> <seconds> <warmup-seconds> <out-file>\n       loadgen sleep <seconds>\n");
    return 2;
  }
  int grpc = strcmp(argv[1], "grpc") == 0;
  int port = atoi(argv[2]);
  path = argv[3];
  double rate = atof(argv[5]), seconds = atof(argv[6]), warmup = atof(argv[7]);
  FILE *bf = fopen(argv[4], "rb");
  if (!bf) die("body file");
  static uint8_t bodybuf[1 << 20];
  body_len = fread(bodybuf, 1, sizeof bodybuf, bf);
  fclose(bf);
  body = bodybuf;
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake at the due time, not up to 50 µs later */

  warm = (long)llround(warmup * rate);
  total = warm + (long)llround(seconds * rate);
  latency = malloc((size_t)total * sizeof *latency);
  for (long i = 0; i < total; i++) latency[i] = NAN; /* stays NaN if never answered */
  due = calloc((size_t)total, sizeof *due);
  epfd = epoll_create1(0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = 0xFFFFFFFF};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  if (grpc) {
    grpc_setup(port);
  } else {
    rest_port = port;
    rest_request = malloc(body_len + 512);
    rest_request_len = (size_t)sprintf(rest_request,
                                       "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                       path, body_len);
    memcpy(rest_request + rest_request_len, body, body_len);
    rest_request_len += body_len;
    for (int k = 0; k < MAX_REST_CONNS; k++) conns[k].index = -1;
  }

  int64_t t0 = now_ns() + 20000000LL; /* 20 ms to settle the connection */
  for (long i = 0; i < total; i++) due[i] = t0 + (int64_t)((double)i * 1e9 / rate);
  long next = 0;
  struct epoll_event events[64];
  while (done_count < total) {
    int64_t now = now_ns();
    while (next < total && due[next] <= now) {
      if (grpc) grpc_send(next);
      else rest_send(next);
      next++;
    }
    if (next < total) {
      struct itimerspec its = {.it_value = {.tv_sec = due[next] / 1000000000LL, .tv_nsec = due[next] % 1000000000LL}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(epfd, events, 64, next < total ? -1 : 10000);
    if (n == 0) break; /* every request sent and nothing answered for 10 s */
    for (int k = 0; k < n; k++) {
      uint32_t tag = events[k].data.u32;
      if (tag == 0xFFFFFFFF) {
        uint64_t expirations;
        ssize_t r = read(tfd, &expirations, sizeof expirations);
        (void)r;
      } else if (grpc) {
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) grpc_readable();
        else h2_flush();
      } else {
        rest_readable(&conns[tag - 0x10000]);
      }
    }
  }
  FILE *out = fopen(argv[8], "wb");
  if (!out) die("out file");
  fwrite(latency + warm, sizeof *latency, (size_t)(total - warm), out);
  fclose(out);
  printf("sent %ld failed %ld first_error %s\n", next, failed + (total - done_count), first_error[0] ? first_error : "-");
  return 0;
}
