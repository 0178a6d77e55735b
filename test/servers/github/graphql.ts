import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  buildSchema,
  execute,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLError,
  type SelectionSetNode,
} from 'graphql';
import { bucketFor, rateHeaders, sendJson } from './rest.ts';
import type { FakeRepo, GithubState } from './state.ts';

/*
 * The GraphQL side of the local GitHub: a slice of the real schema (repository, releases, refs,
 * rateLimit), executed by graphql-js. Cost and node counts follow GitHub's published rules: each
 * connection costs one request per parent, cost = requests / 100 (at least 1), and a query whose
 * `first` values multiply past the node limit is refused with MAX_NODE_LIMIT_EXCEEDED.
 */

const schema = buildSchema(`
  enum OrderDirection { ASC DESC }
  enum ReleaseOrderField { CREATED_AT NAME }
  enum RefOrderField { TAG_COMMIT_DATE ALPHABETICAL }
  input ReleaseOrder { field: ReleaseOrderField!, direction: OrderDirection! }
  input RefOrder { field: RefOrderField!, direction: OrderDirection! }
  type RateLimit { cost: Int!, limit: Int!, nodeCount: Int!, remaining: Int!, resetAt: String!, used: Int! }
  type PageInfo { hasNextPage: Boolean!, endCursor: String }
  type Release { id: ID!, databaseId: Int, tagName: String!, name: String, isPrerelease: Boolean!, isDraft: Boolean!, isLatest: Boolean!, publishedAt: String, createdAt: String!, url: String!, description: String }
  type ReleaseConnection { totalCount: Int!, nodes: [Release], pageInfo: PageInfo! }
  type GitActor { date: String, name: String }
  interface GitObject { oid: String! }
  type Commit implements GitObject { oid: String!, committedDate: String! }
  type Tag implements GitObject { oid: String!, name: String!, tagger: GitActor, target: GitObject }
  type Ref { name: String!, prefix: String!, target: GitObject }
  type RefConnection { totalCount: Int!, nodes: [Ref], pageInfo: PageInfo! }
  type Repository {
    id: ID!, name: String!, nameWithOwner: String!, url: String!, isArchived: Boolean!
    releases(first: Int, last: Int, after: String, orderBy: ReleaseOrder): ReleaseConnection!
    refs(refPrefix: String!, first: Int, last: Int, after: String, orderBy: RefOrder): RefConnection
    latestRelease: Release
  }
  type Query {
    repository(owner: String!, name: String!): Repository
    rateLimit(dryRun: Boolean): RateLimit
  }
`);

const connections = new Set(['releases', 'refs']);

/** Requests and nodes a query asks for, by GitHub's rules; with the largest `first` seen. */
function costOf(
  selection: SelectionSetNode,
  multiplier: number,
): { requests: number; nodes: number; maxFirst: number; missing: string | undefined } {
  let requests = 0;
  let nodes = 0;
  let maxFirst = 0;
  let missing: string | undefined;
  for (const node of selection.selections) {
    if (node.kind !== Kind.FIELD) continue;
    let childMultiplier = multiplier;
    if (connections.has(node.name.value)) {
      const arg = node.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
      const first = arg && arg.value.kind === Kind.INT ? Number(arg.value.value) : undefined;
      if (first === undefined) missing ??= node.name.value;
      requests += multiplier;
      nodes += multiplier * (first ?? 0);
      maxFirst = Math.max(maxFirst, first ?? 0);
      childMultiplier = multiplier * (first ?? 0);
    }
    if (node.selectionSet) {
      const inner = costOf(node.selectionSet, childMultiplier);
      requests += inner.requests;
      nodes += inner.nodes;
      maxFirst = Math.max(maxFirst, inner.maxFirst);
      missing ??= inner.missing;
    }
  }
  return { requests, nodes, maxFirst, missing };
}

class TypedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function repositoryValue(repo: FakeRepo, origin: string) {
  const html = `${origin}/${repo.owner}/${repo.name}`;
  const page = <T>(items: T[], args: { first?: number; last?: number }) => {
    const n = args.first ?? args.last ?? 0;
    const slice = args.first !== undefined ? items.slice(0, n) : items.slice(-n);
    return {
      totalCount: items.length,
      nodes: slice,
      pageInfo: {
        hasNextPage: items.length > slice.length,
        endCursor: slice.length ? Buffer.from(`cursor:${slice.length}`).toString('base64') : null,
      },
    };
  };
  const releases = repo.releases.map((r, i) => ({
    id: Buffer.from(`RE_${r.id}`).toString('base64'),
    databaseId: r.id,
    tagName: r.tagName,
    name: r.name,
    isPrerelease: r.prerelease,
    isDraft: r.draft,
    isLatest: i === 0,
    publishedAt: r.publishedAt,
    createdAt: r.createdAt,
    url: `${html}/releases/tag/${r.tagName}`,
    description: `Release ${r.tagName}`,
  }));
  const refs = repo.tags.map((t) => ({
    name: t.name,
    prefix: 'refs/tags/',
    target: { __typename: 'Commit', oid: t.sha, committedDate: t.date },
  }));
  return {
    id: Buffer.from(`R_${repo.id}`).toString('base64'),
    name: repo.name,
    nameWithOwner: `${repo.owner}/${repo.name}`,
    url: html,
    isArchived: false,
    latestRelease: releases[0] ?? null,
    releases: (args: { first?: number; last?: number; orderBy?: { direction: string } }) =>
      page(args.orderBy?.direction === 'ASC' ? [...releases].reverse() : releases, args),
    refs: (args: {
      refPrefix: string;
      first?: number;
      last?: number;
      orderBy?: { direction: string };
    }) =>
      args.refPrefix === 'refs/tags/'
        ? page(args.orderBy?.direction === 'ASC' ? [...refs].reverse() : refs, args)
        : page([], args),
  };
}

export async function handleGraphql(
  state: GithubState,
  origin: string,
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
): Promise<void> {
  state.stats.graphqlRequests++;
  const who = bucketFor(state, req, 'graphql');
  if (who === 'anonymous')
    return sendJson(res, 401, {
      message: 'This endpoint requires you to be authenticated.',
      documentation_url: `${origin}/docs/graphql`,
    });
  if (who === 'unauthorized')
    return sendJson(res, 401, {
      message: 'Bad credentials',
      documentation_url: `${origin}/docs/graphql`,
    });
  const bucket = who;
  let document: DocumentNode;
  let variables: Record<string, unknown> | undefined;
  try {
    const body = JSON.parse(raw) as { query?: unknown; variables?: Record<string, unknown> };
    if (typeof body.query !== 'string')
      throw new Error('A query attribute must be specified and must be a string.');
    document = parse(body.query);
    variables = body.variables;
  } catch (error) {
    return sendJson(
      res,
      200,
      { errors: [{ message: (error as Error).message }] },
      rateHeaders(bucket, 'graphql'),
    );
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0)
    return sendJson(res, 200, { errors: invalid.map(formatError) }, rateHeaders(bucket, 'graphql'));
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION)
    return sendJson(res, 200, { errors: [{ message: 'No operation' }] });
  const repoFields = operation.selectionSet.selections.filter(
    (s) => s.kind === Kind.FIELD && s.name.value === 'repository',
  ).length;
  state.stats.batchSizes.push(repoFields);
  if (state.faults.graphql502Next > 0 || repoFields > state.faults.graphql502Above) {
    if (state.faults.graphql502Next > 0) state.faults.graphql502Next--;
    state.stats.injected502++;
    res.writeHead(502, { 'content-type': 'application/json' });
    return void res.end(
      JSON.stringify({
        data: null,
        errors: [
          {
            message:
              'Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.',
          },
        ],
      }),
    );
  }
  const cost = costOf(operation.selectionSet, 1);
  if (cost.missing) {
    return sendJson(
      res,
      200,
      {
        errors: [
          {
            type: 'MISSING_PAGINATION_BOUNDARIES',
            message: `You must provide a \`first\` or \`last\` value to properly paginate the \`${cost.missing}\` connection.`,
          },
        ],
      },
      rateHeaders(bucket, 'graphql'),
    );
  }
  if (cost.maxFirst > 100) {
    return sendJson(
      res,
      200,
      {
        errors: [
          {
            type: 'EXCESSIVE_PAGINATION',
            message: `Requesting ${cost.maxFirst} records on the connection exceeds the \`first\` limit of 100 records.`,
          },
        ],
      },
      rateHeaders(bucket, 'graphql'),
    );
  }
  if (cost.nodes > state.faults.nodeLimit) {
    return sendJson(
      res,
      200,
      {
        errors: [
          {
            type: 'MAX_NODE_LIMIT_EXCEEDED',
            message: `This query requests up to ${cost.nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${state.faults.nodeLimit.toLocaleString('en-US')}.`,
          },
        ],
      },
      rateHeaders(bucket, 'graphql'),
    );
  }
  const points = Math.max(1, Math.round(cost.requests / 100));
  if (!state.spend(bucket, points)) {
    state.stats.rateLimited++;
    return sendJson(
      res,
      200,
      {
        errors: [
          {
            type: 'RATE_LIMITED',
            code: 'graphql_rate_limit',
            message: 'API rate limit already exceeded for user ID 1.',
          },
        ],
      },
      rateHeaders(bucket, 'graphql'),
    );
  }
  state.stats.graphqlPoints += points;
  const rootValue = {
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = state.get(owner, name);
      if (!repo)
        throw new TypedError(
          'NOT_FOUND',
          `Could not resolve to a Repository with the name '${owner}/${name}'.`,
        );
      if (state.faults.graphqlForbidden.has(state.key(owner, name)))
        throw new TypedError('FORBIDDEN', `Resource protected by organization SAML enforcement.`);
      return repositoryValue(repo, origin);
    },
    rateLimit: () => ({
      cost: points,
      limit: bucket.limit,
      nodeCount: cost.nodes,
      remaining: bucket.remaining,
      resetAt: new Date(bucket.reset * 1000).toISOString().replace('.000', ''),
      used: bucket.used,
    }),
  };
  const result = await execute({ schema, document, rootValue, variableValues: variables });
  const body: Record<string, unknown> = { data: result.data ?? null };
  if (result.errors?.length) body.errors = result.errors.map(formatError);
  sendJson(res, 200, body, rateHeaders(bucket, 'graphql'));
}

function formatError(error: GraphQLError) {
  const type = error.originalError instanceof TypedError ? error.originalError.type : undefined;
  return {
    ...(type ? { type } : {}),
    path: error.path,
    locations: error.locations,
    message: error.message,
  };
}
