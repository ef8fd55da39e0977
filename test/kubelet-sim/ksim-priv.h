#pragma once

#include <pthread.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "test/kubelet-sim/ksim.h"

/* Internals shared by the simulator's files. One mutex (ksim.mu) guards
 * everything below; ksim.cond is broadcast on every change tests wait for. */

struct ksim;

/* One accepted registration: the channel to the plugin and its stream. */
struct ksim_reg {
    int refs;                  /* under mu */
    struct ksim *sim;
    char *resource;
    char *endpoint;
    grpc_channel *channel;
    bool pre_start;
    bool preferred;
    pthread_t thread;          /* the ListAndWatch reader */
    bool thread_started;
    grpc_completion_queue *cq; /* the reader's queue */
    grpc_call *stream_owned;   /* the reader's reference */
    grpc_call *stream;         /* under mu; NULL once the reader finished */
    bool ended;
    grpc_status_code end_status;
    size_t n_lists;
    uint8_t *last;             /* last list, packed */
    size_t last_len;
};

struct ksim_res {
    char *name;
    unsigned registrations;
    struct ksim_reg *reg;      /* current registration or NULL */
};

struct ksim {
    char *dir;
    char *sock_path;
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* CLOCK_MONOTONIC */
    grpc_server *server;
    void *method;              /* registered Register method */
    grpc_completion_queue *cq;
    pthread_t thread;
    bool serving;
    int listen_fd;          /* kubelet.sock, ours (listen.c) */
    int listen_stop_fd;
    pthread_t accept_thread;
    int listen_delay_ms;    /* between bind() and listen() */
    size_t n_res;
    struct ksim_res **res;
    unsigned rejections;
    char *last_reject;
};

/* register.c: start/stop the Registration server on sim->sock_path. */
int ksim_server_start(struct ksim *sim);
void ksim_server_stop(struct ksim *sim);

/* listen.c: bind kubelet.sock, wait listen_delay_ms, listen and accept
 * for sim->server (started) on a thread. 0 or -errno. */
int ksim_listen_start(struct ksim *sim);
/* Stop accepting and close the socket (the file stays). */
void ksim_listen_stop(struct ksim *sim);

/* stream.c: a registration owns a channel and a ListAndWatch reader
 * thread. ksim_reg_open dials and calls GetDevicePluginOptions (10 s);
 * returns 0 and *ret (refs 1) or -errno with a message in msg. */
int ksim_reg_open(struct ksim *sim, const char *resource, const char *endpoint,
                  struct ksim_reg **ret, char *msg, size_t msg_len);
int ksim_reg_start_stream(struct ksim_reg *reg);
/* Cancel the stream and join the reader. Call without mu held. */
void ksim_reg_close(struct ksim_reg *reg);
/* Drop a reference; the last one destroys the channel. Call with mu held
 * only if locked == true. */
void ksim_reg_unref(struct ksim_reg *reg, bool locked);

/* unary.c: one blocking unary call on ch with a deadline. Same contract
 * as ksim_call. */
int ksim_unary(grpc_channel *ch, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
               ProtobufCMessage **ret, grpc_status_code *ret_status, char **ret_msg);

/* ksim.c: find or add the record of resource (mu held); NULL on ENOMEM. */
struct ksim_res *ksim_res_get(struct ksim *sim, const char *resource, bool create);
/* Take a reference to the current registration of resource, or NULL. */
struct ksim_reg *ksim_reg_get(struct ksim *sim, const char *resource);

gpr_timespec ksim_deadline_ms(int ms);
