/*
 * Starting and stopping fixture servers from C tests. A server prints a line
 * containing "listening on ADDR:PORT" when ready; it is stopped by its PID.
 */
#ifndef WSP_TEST_FIXTURE_H
#define WSP_TEST_FIXTURE_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsprobe.h"

typedef struct {
  pid_t pid; /* The server process, or 0. */
  int port;  /* Its port once listening. */
} fixture;

/* Starts argv[0] with argv; returns 0 once it printed its port. */
static int fixture_start(fixture *f, char *const argv[]) {
  int fds[2];
  char line[512];
  size_t len = 0;
  struct timespec start, now;
  f->pid = 0;
  f->port = 0;
  if (pipe(fds) != 0)
    return -1;
  f->pid = fork();
  if (f->pid < 0)
    return -1;
  if (f->pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct pollfd p = {fds[0], POLLIN, 0};
    char *at;
    ssize_t n;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 10)
      break;
    if (poll(&p, 1, 200) <= 0)
      continue;
    n = read(fds[0], line + len, sizeof(line) - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    line[len] = '\0';
    if (strchr(line, '\n') && (at = strstr(line, "listening on ")) != NULL) {
      char *colon = strrchr(at, ':');
      f->port = colon ? atoi(colon + 1) : 0;
      break;
    }
  }
  close(fds[0]); /* The server's later output goes nowhere. */
  if (f->port <= 0) {
    fprintf(stderr, "fixture %s did not start\n", argv[0]);
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
    return -1;
  }
  return 0;
}

/* Starts raceserver `bin` on an ephemeral loopback port, for 120 s at
 * most, with up to four more arguments (the first NULL ends them). */
static inline int fixture_raceserver(fixture *f, const char *bin,
                                     const char *a1, const char *a2,
                                     const char *a3, const char *a4) {
  char *argv[] = {(char *)bin, "--port",   "0",        "--lifetime",
                  "120",       "--quiet",  (char *)a1, (char *)a2,
                  (char *)a3,  (char *)a4, NULL};
  return fixture_start(f, argv);
}

/* The same with any number of arguments (`args` ends with NULL). */
static inline int fixture_raceserver_v(fixture *f, const char *bin,
                                       const char *const *args) {
  char *argv[32] = {(char *)bin, "--port", "0", "--lifetime", "120", "--quiet"};
  size_t n = 6;
  while (*args != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1)
    argv[n++] = (char *)*args++;
  argv[n] = NULL;
  return fixture_start(f, argv);
}

/* A config for raceserver's agent on `port`: the first message
 * {"type":"run"} and 3 s timeouts. NULL if a setter refused. */
static inline wsp_config *fixture_agent_config(int port) {
  char url[64];
  wsp_config *cfg = wsp_config_new();
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/agent", port);
  if (cfg == NULL || wsp_config_set_url(cfg, url) != 0 ||
      wsp_config_set_message(cfg, "{\"type\":\"run\"}", 14, 0) != 0 ||
      wsp_config_set_timeouts(cfg, 3000) != 0) {
    wsp_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* Stops the server by its PID: SIGTERM, then SIGKILL after 5 s. */
static void fixture_stop(fixture *f) {
  int status;
  if (f->pid <= 0)
    return;
  kill(f->pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
      f->pid = 0;
      return;
    }
    usleep(10000);
  }
  kill(f->pid, SIGKILL);
  waitpid(f->pid, &status, 0);
  f->pid = 0;
}

#endif
