import type { EmulatorCore } from '../core.js';
import { executeGraphQL, type ExecutionResult } from './execute.js';
import { GraphQLSyntaxError, parseGraphQL } from './parser.js';
import { schema } from './schema.js';

export interface GraphQLReply {
  result: ExecutionResult;
  /** Problems with the request itself (syntax, unknown fields): GitHub would answer with errors too. */
  problems: string[];
}

/** Answers `POST /graphql` like GitHub: HTTP 200 with `data` and/or `errors`. */
export async function handleGraphQL(core: EmulatorCore, body: unknown): Promise<GraphQLReply> {
  const request = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof request.query !== 'string') {
    const message = 'A query attribute must be specified and must be a string.';
    return { result: { errors: [{ message }] }, problems: [message] };
  }
  let doc;
  try {
    doc = parseGraphQL(request.query);
  } catch (error) {
    if (!(error instanceof GraphQLSyntaxError)) throw error;
    return { result: { errors: [{ message: error.message, locations: [error.loc] }] }, problems: [`GraphQL syntax: ${error.message}`] };
  }
  const variables = request.variables && typeof request.variables === 'object' ? (request.variables as Record<string, unknown>) : {};
  const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
  const result = await executeGraphQL(schema, doc, variables, { core }, operationName);
  // Without data the request never ran: it did not fit the schema.
  const problems = result.data === undefined ? (result.errors ?? []).map((e) => e.message) : [];
  return { result, problems };
}
