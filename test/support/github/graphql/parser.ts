/** A small GraphQL parser: enough of the language for the queries and mutations actions send. */

export interface SourceLocation {
  line: number;
  column: number;
}

export type ValueNode =
  | { kind: 'variable'; name: string }
  | { kind: 'scalar'; value: string | number | boolean | null }
  | { kind: 'enum'; value: string }
  | { kind: 'list'; values: ValueNode[] }
  | { kind: 'object'; fields: Record<string, ValueNode> };

export interface Directive {
  name: string;
  args: Record<string, ValueNode>;
}

export interface FieldNode {
  kind: 'field';
  alias?: string;
  name: string;
  args: Record<string, ValueNode>;
  directives: Directive[];
  selections?: SelectionNode[];
  loc: SourceLocation;
}

export interface InlineFragmentNode {
  kind: 'inline';
  typeCondition?: string;
  directives: Directive[];
  selections: SelectionNode[];
}

export interface FragmentSpreadNode {
  kind: 'spread';
  name: string;
  directives: Directive[];
  loc: SourceLocation;
}

export type SelectionNode = FieldNode | InlineFragmentNode | FragmentSpreadNode;

export interface OperationNode {
  operation: 'query' | 'mutation' | 'subscription';
  name?: string;
  variables: Array<{ name: string; defaultValue?: ValueNode }>;
  selections: SelectionNode[];
  loc: SourceLocation;
}

export interface DocumentNode {
  operations: OperationNode[];
  fragments: Map<string, { typeCondition: string; selections: SelectionNode[] }>;
}

export class GraphQLSyntaxError extends Error {
  constructor(message: string, readonly loc: SourceLocation) {
    super(message);
  }
}

interface Token {
  kind: 'punct' | 'name' | 'number' | 'string' | 'eof';
  value: string;
  loc: SourceLocation;
}

const tokenPattern = /[\s,\uFEFF]+|#[^\n\r]*|\.\.\.|[{}()[\]:=!$@|&]|[_A-Za-z][_0-9A-Za-z]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"""[\s\S]*?"""|"(?:[^"\\\n\r]|\\.)*"/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let pos = 0;
  while (pos < source.length) {
    tokenPattern.lastIndex = pos;
    const match = tokenPattern.exec(source);
    const loc = { line, column: pos - lineStart + 1 };
    if (!match) throw new GraphQLSyntaxError(`Parse error on "${source[pos]}" (${JSON.stringify(source.slice(pos, pos + 10))})`, loc);
    const text = match[0];
    const first = text[0] as string;
    if (/[_A-Za-z]/.test(first)) tokens.push({ kind: 'name', value: text, loc });
    else if (/[-\d]/.test(first)) tokens.push({ kind: 'number', value: text, loc });
    else if (text.startsWith('"""')) tokens.push({ kind: 'string', value: text.slice(3, -3).replace(/\\"""/g, '"""'), loc });
    else if (first === '"') tokens.push({ kind: 'string', value: JSON.parse(text) as string, loc });
    else if (!/^[\s,\uFEFF#]/.test(first)) tokens.push({ kind: 'punct', value: text, loc });
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\n') {
        line++;
        lineStart = pos + i + 1;
      }
    }
    pos += text.length;
  }
  tokens.push({ kind: 'eof', value: '', loc: { line, column: pos - lineStart + 1 } });
  return tokens;
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    return this.tokens[this.index++] as Token;
  }

  private at(kind: Token['kind'], value?: string): boolean {
    const token = this.peek();
    return token.kind === kind && (value === undefined || token.value === value);
  }

  private expect(kind: Token['kind'], value?: string): Token {
    const token = this.next();
    if (token.kind !== kind || (value !== undefined && token.value !== value)) {
      throw new GraphQLSyntaxError(`Parse error on ${JSON.stringify(token.value || 'end of input')}: expected ${value ?? kind}`, token.loc);
    }
    return token;
  }

  document(): DocumentNode {
    const doc: DocumentNode = { operations: [], fragments: new Map() };
    while (!this.at('eof')) {
      if (this.at('punct', '{')) {
        doc.operations.push({ operation: 'query', variables: [], selections: this.selectionSet(), loc: this.peek().loc });
      } else if (this.at('name', 'fragment')) {
        this.next();
        const name = this.expect('name').value;
        this.expect('name', 'on');
        const typeCondition = this.expect('name').value;
        this.directives();
        doc.fragments.set(name, { typeCondition, selections: this.selectionSet() });
      } else {
        const keyword = this.expect('name');
        if (!['query', 'mutation', 'subscription'].includes(keyword.value)) throw new GraphQLSyntaxError(`Parse error on "${keyword.value}"`, keyword.loc);
        const operation: OperationNode = { operation: keyword.value as OperationNode['operation'], variables: [], selections: [], loc: keyword.loc };
        if (this.at('name')) operation.name = this.next().value;
        if (this.at('punct', '(')) operation.variables = this.variableDefinitions();
        this.directives();
        operation.selections = this.selectionSet();
        doc.operations.push(operation);
      }
    }
    return doc;
  }

  private variableDefinitions(): OperationNode['variables'] {
    const list: OperationNode['variables'] = [];
    this.expect('punct', '(');
    while (!this.at('punct', ')')) {
      this.expect('punct', '$');
      const name = this.expect('name').value;
      this.expect('punct', ':');
      this.type();
      const definition: OperationNode['variables'][number] = { name };
      if (this.at('punct', '=')) {
        this.next();
        definition.defaultValue = this.value();
      }
      this.directives();
      list.push(definition);
    }
    this.next();
    return list;
  }

  private type(): void {
    if (this.at('punct', '[')) {
      this.next();
      this.type();
      this.expect('punct', ']');
    } else {
      this.expect('name');
    }
    if (this.at('punct', '!')) this.next();
  }

  private directives(): Directive[] {
    const list: Directive[] = [];
    while (this.at('punct', '@')) {
      this.next();
      list.push({ name: this.expect('name').value, args: this.at('punct', '(') ? this.arguments() : {} });
    }
    return list;
  }

  private selectionSet(): SelectionNode[] {
    this.expect('punct', '{');
    const selections: SelectionNode[] = [];
    while (!this.at('punct', '}')) selections.push(this.selection());
    this.next();
    if (selections.length === 0) throw new GraphQLSyntaxError('Parse error: empty selection set', this.peek().loc);
    return selections;
  }

  private selection(): SelectionNode {
    if (this.at('punct', '...')) {
      const spread = this.next();
      if (this.at('name', 'on')) {
        this.next();
        const typeCondition = this.expect('name').value;
        return { kind: 'inline', typeCondition, directives: this.directives(), selections: this.selectionSet() };
      }
      if (this.at('punct', '{') || this.at('punct', '@')) return { kind: 'inline', directives: this.directives(), selections: this.selectionSet() };
      return { kind: 'spread', name: this.expect('name').value, directives: this.directives(), loc: spread.loc };
    }
    const first = this.expect('name');
    const field: FieldNode = { kind: 'field', name: first.value, args: {}, directives: [], loc: first.loc };
    if (this.at('punct', ':')) {
      this.next();
      field.alias = first.value;
      field.name = this.expect('name').value;
    }
    if (this.at('punct', '(')) field.args = this.arguments();
    field.directives = this.directives();
    if (this.at('punct', '{')) field.selections = this.selectionSet();
    return field;
  }

  private arguments(): Record<string, ValueNode> {
    const args: Record<string, ValueNode> = {};
    this.expect('punct', '(');
    while (!this.at('punct', ')')) {
      const name = this.expect('name').value;
      this.expect('punct', ':');
      args[name] = this.value();
    }
    this.next();
    return args;
  }

  private value(): ValueNode {
    const token = this.next();
    if (token.kind === 'punct' && token.value === '$') return { kind: 'variable', name: this.expect('name').value };
    if (token.kind === 'number') return { kind: 'scalar', value: Number(token.value) };
    if (token.kind === 'string') return { kind: 'scalar', value: token.value };
    if (token.kind === 'name') {
      if (token.value === 'true' || token.value === 'false') return { kind: 'scalar', value: token.value === 'true' };
      if (token.value === 'null') return { kind: 'scalar', value: null };
      return { kind: 'enum', value: token.value };
    }
    if (token.kind === 'punct' && token.value === '[') {
      const values: ValueNode[] = [];
      while (!this.at('punct', ']')) values.push(this.value());
      this.next();
      return { kind: 'list', values };
    }
    if (token.kind === 'punct' && token.value === '{') {
      const fields: Record<string, ValueNode> = {};
      while (!this.at('punct', '}')) {
        const name = this.expect('name').value;
        this.expect('punct', ':');
        fields[name] = this.value();
      }
      this.next();
      return { kind: 'object', fields };
    }
    throw new GraphQLSyntaxError(`Parse error on ${JSON.stringify(token.value || 'end of input')}: expected a value`, token.loc);
  }
}

export function parseGraphQL(source: string): DocumentNode {
  return new Parser(tokenize(source)).document();
}

/** Resolves a value node against the request's variables. */
export function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case 'variable':
      return variables[node.name];
    case 'scalar':
      return node.value;
    case 'enum':
      return node.value;
    case 'list':
      return node.values.map((v) => valueOf(v, variables));
    case 'object':
      return Object.fromEntries(Object.entries(node.fields).map(([k, v]) => [k, valueOf(v, variables)]));
  }
}
