#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "test/kubelet-sim/ksim-priv.h"

/* kubelet.sock is our own socket, accepted here and handed to the gRPC
 * server, so that the gap a real kubelet has between bind() (the file
 * appears, a dial is refused) and listen() can be stretched at will. */

static void *
accept_thread(void *arg)
{
    struct ksim *sim = arg;
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();

    for (;;) {
        struct pollfd p[2] = {{.fd = sim->listen_stop_fd, .events = POLLIN},
                              {.fd = sim->listen_fd, .events = POLLIN}};
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (!p[1].revents)
            continue;
        fd = accept4(sim->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0)
            grpc_server_add_channel_from_fd(sim->server, fd, creds);
        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            poll(NULL, 0, 10); /* out of descriptors: do not spin */
    }
    grpc_server_credentials_release(creds);
    return NULL;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int
ksim_listen_start(struct ksim *sim)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int r;

    if (strlen(sim->sock_path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, sim->sock_path, strlen(sim->sock_path) + 1);
    sim->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sim->listen_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (sim->listen_fd < 0 || sim->listen_stop_fd < 0) {
        r = -errno;
        goto fail;
    }
    unlink(sim->sock_path);
    if (bind(sim->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        r = -errno;
        goto fail;
    }
    if (sim->listen_delay_ms > 0)
        sleep_ms(sim->listen_delay_ms);
    if (listen(sim->listen_fd, 64) < 0) {
        r = -errno;
        goto fail;
    }
    r = -pthread_create(&sim->accept_thread, NULL, accept_thread, sim);
    if (r == 0)
        return 0;
fail:
    if (sim->listen_fd >= 0)
        close(sim->listen_fd);
    if (sim->listen_stop_fd >= 0)
        close(sim->listen_stop_fd);
    sim->listen_fd = sim->listen_stop_fd = -1;
    return r;
}

void
ksim_listen_stop(struct ksim *sim)
{
    uint64_t one = 1;

    if (sim->listen_fd < 0)
        return;
    if (write(sim->listen_stop_fd, &one, sizeof(one)) == sizeof(one))
        pthread_join(sim->accept_thread, NULL);
    close(sim->listen_fd);
    close(sim->listen_stop_fd);
    sim->listen_fd = sim->listen_stop_fd = -1;
}
