// One jest, two projects: `unit` (pure logic, no root, seconds) and `e2e`
// (root, real kernel/etcd/Docker in test/netns hosts). Sources are transpiled by
// ts-jest without type-checking; `tsc -b` is the type check.
const workspaces = ['common', 'api', 'overlayd', 'svcproxy', 'dnsd', 'orchestrator-core'];

const moduleNameMapper = {
  '^@pilot/orchestrator-core/up$': '<rootDir>/packages/orchestrator-core/src/up/index.ts',
  [`^@pilot/(${workspaces.join('|')})$`]: '<rootDir>/packages/$1/src/index.ts',
  '^@pilot/netns$': '<rootDir>/test/netns/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.base.json' }],
};

const common = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper,
  transform,
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/test/netns/dist/'],
};

export default {
  // e2e suites build clusters in beforeAll; unit tests finish far below this.
  testTimeout: 180_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/scripts/test/*.test.ts', '<rootDir>/bench/lib/test/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/netns/**/*.e2e.test.ts'],
    },
  ],
};
