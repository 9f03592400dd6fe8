import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process. Components record into it; the API serves it at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'face_refiner_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'face_refiner_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  });
  readonly jobStage = new Histogram({
    name: 'face_refiner_job_stage_seconds',
    help: 'Time per job stage: fetch, decode, detect, refine, encode, store',
    labelNames: ['stage'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'face_refiner_jobs_total',
    help: 'Finished jobs by final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly facesPerJob = new Histogram({
    name: 'face_refiner_faces_per_job',
    help: 'Faces refined per succeeded job',
    buckets: [0, 1, 2, 3, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });
  readonly webhookAttempts = new Counter({
    name: 'face_refiner_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly queueDepth: Gauge;

  constructor(queueDepth: () => Promise<number>) {
    collectDefaultMetrics({ register: this.registry });
    this.queueDepth = new Gauge({
      name: 'face_refiner_queue_depth',
      help: 'Jobs waiting or running',
      registers: [this.registry],
      async collect() {
        this.set(await queueDepth());
      },
    });
  }
}
