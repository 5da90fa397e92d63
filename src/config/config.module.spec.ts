import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule } from './config.module';
import { loadConfig } from './load-config';
import { TiergateConfig } from './tiergate-config';

@Injectable()
class NeedsConfig {
  constructor(readonly config: TiergateConfig) {}
}

@Module({ providers: [NeedsConfig] })
class ConsumerModule {}

describe('ConfigModule', () => {
  it('injects the config by class into any module, since it is global', async () => {
    const config = loadConfig({ TIERGATE_ADDRESS: '127.0.0.1:9999' }, '/srv');
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), ConsumerModule],
    }).compile();
    try {
      assert.equal(moduleRef.get(NeedsConfig).config, config);
      assert.equal(moduleRef.get(TiergateConfig).address.port, 9999);
    } finally {
      await moduleRef.close();
    }
  });
});
