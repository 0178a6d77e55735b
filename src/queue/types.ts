import type { BuildRequest } from '../model/build-request.ts';

/* The payloads of kiln's two queues: one build job per arch, one publish job per request. */

export interface BuildJobData {
  request: BuildRequest;
  arch: string;
}

export interface PublishJobData {
  request: BuildRequest;
}
