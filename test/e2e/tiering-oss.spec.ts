/** The tiering acceptance run against the oss tier, with the local and the AWS KMS (see tiering-suite.ts). */
import { tieringSuite } from './tiering-suite';

tieringSuite('oss');
